from django.contrib.auth import views as auth_views
from django.urls import path

from laojian.core import audit_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.login_code, name="login_code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("account/two-factor/", views.two_factor_enrol, name="two_factor_enrol"),
    path("account/two-factor/recovery-codes/", views.recovery_codes_renew, name="recovery_codes_renew"),
    path("audit/", audit_views.audit_trail, name="audit_trail"),
    path("audit/export/", audit_views.audit_trail_export, name="audit_trail_export"),
]
