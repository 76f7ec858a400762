"""The home redirect and the account pages: sign-in in two steps, the authenticator app, the password."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from laojian.core import audit, auth, totp
from laojian.core.forms import CODE_REFUSAL, NEUTRAL_REFUSAL, CodeForm, EnrolForm, LoginForm


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("cases:worklist")


def _safe_next(request: HttpRequest, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return reverse("home")


# SIGN-IN -------------------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """Step 1, the password (with the lockout of SEC-09). Staff who need a second factor go on to
    step 2 (or to enrolment) with a pending mark only; everyone else is signed in here."""

    form_class = LoginForm

    def form_valid(self, form: LoginForm) -> HttpResponse:
        user = form.get_user()
        stage = auth.second_factor_stage(user)
        next_url = self.get_success_url()
        if stage is None:
            mark = auth.EXEMPT_APPLICANT if auth.is_applicant_only(user) else auth.EXEMPT_OPTIONAL
            auth.complete(self.request, user, passed=mark)
            return redirect(next_url)
        auth.pending_start(self.request, user, stage=stage, next_url=next_url)
        return redirect("login_code" if stage == "code" else "two_factor_enrol")


def _restart(request: HttpRequest, message: str | None = None) -> HttpResponse:
    auth.pending_clear(request)
    if message:
        messages.error(request, message)
    return redirect("login")


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """Step 2: a code from the authenticator app or a recovery code. Then, and only then, login()."""
    found = auth.pending_get(request)
    if found is None or found[1].get("stage") != "code":
        return _restart(request, _("Please sign in again.") if request.method == "POST" else None)
    user, pending = found
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ip_address = audit.client_ip(request)
        username = user.get_username()
        scope = auth.locked_scope(username, ip_address)
        if scope is not None:
            auth.refusal_record(username, ip_address, scope, step="second_factor")
            return _restart(request, NEUTRAL_REFUSAL)
        verified = totp.verify(user, form.cleaned_data["code"])
        if verified is None:
            audit.record("second_factor_failed", actor=user, obj=user, ip_address=ip_address)
            if auth.failure_record(username, ip_address, step="second_factor"):
                return _restart(request, NEUTRAL_REFUSAL)
            form.add_error("code", CODE_REFUSAL)
        else:
            audit.record("login_second_factor", actor=user, obj=user, after={"method": verified.method},
                         ip_address=ip_address)
            auth.complete(request, user, passed=verified.method, backend=pending.get("backend"))
            if verified.method == auth.PASSED_RECOVERY:
                messages.warning(request, _("You signed in with a recovery code; %(left)d are left. "
                                            "Make new ones on your account page.")
                                 % {"left": totp.recovery_codes_left(user)})
            return redirect(_safe_next(request, pending.get("next", "")))
    return render(request, "registration/login_code.html", {"form": form})


def admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """Replaces the admin's own login page, which would accept a password alone (SEC-07)."""
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"))


# THE AUTHENTICATOR APP -----------------------------------------------------------------------------


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_enrol(request: HttpRequest) -> HttpResponse:
    """Set up the authenticator app: QR code and secret, confirmed by a first code; then the recovery codes.

    Reached right after the password when two factors are required and the user has no app yet
    (nothing else is reachable before this is done), or from the account page. The secret is
    shown only here, and only until it is confirmed.
    """
    pending = None
    if request.user.is_authenticated:
        user = request.user
    else:
        found = auth.pending_get(request)
        if found is None or found[1].get("stage") != "enrol":
            return _restart(request, _("Please sign in again.") if request.method == "POST" else None)
        user, pending = found
    if totp.has_device(user):
        messages.info(request, _("Your authenticator app is already set up."))
        return redirect("account")
    device, key = totp.device_start(user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ip_address = audit.client_ip(request)
        codes = totp.device_confirm(user, form.cleaned_data["code"], ip_address=ip_address)
        if codes is not None:
            if pending is not None:
                audit.record("login_second_factor", actor=user, obj=user, after={"method": auth.PASSED_TOTP},
                             ip_address=ip_address)
                auth.complete(request, user, passed=auth.PASSED_TOTP, backend=pending.get("backend"))
                next_url = _safe_next(request, pending.get("next", ""))
            else:
                request.session[auth.SECOND_FACTOR_KEY] = auth.PASSED_TOTP
                next_url = reverse("account")
            return render(request, "registration/recovery_codes.html", {"codes": codes, "next": next_url})
        form.add_error("code", _("That code does not match. Check the phone's clock and enter the code shown now."))
    uri = totp.provisioning_uri(key, user.get_username())
    return render(request, "registration/two_factor_enrol.html", {
        "form": form, "qr": totp.qr_data_uri(uri), "secret": totp.secret_text(key), "uri": uri,
        "forced": pending is not None,
    })


@never_cache
@login_required
@require_POST
def recovery_codes_renew(request: HttpRequest) -> HttpResponse:
    """Ten new recovery codes; the old ones stop working."""
    if not totp.has_device(request.user):
        return redirect("account")
    codes = totp.recovery_codes_renew(request.user, ip_address=audit.client_ip(request))
    return render(request, "registration/recovery_codes.html", {"codes": codes, "next": reverse("account")})


@never_cache
@login_required
@require_http_methods(["GET"])
def account(request: HttpRequest) -> HttpResponse:
    """The signed-in user's sign-in security: the app, recovery codes left, the password's age."""
    user = request.user
    return render(request, "core/account.html", {
        "enrolled_at": totp.device_confirmed_at(user),
        "codes_left": totp.recovery_codes_left(user),
        "required": auth.second_factor_required() and not auth.is_applicant_only(user),
        "password_changed_at": user.password_changed_at or user.date_joined,
        "password_max_age_days": settings.LAOJIAN_PASSWORD_MAX_AGE_DAYS,
        "can_change_password": user.has_usable_password(),
    })


@method_decorator(never_cache, name="dispatch")
class PasswordChangeView(auth_views.PasswordChangeView):
    """Change the password (validators of SEC-08); also where an expired password sends the user."""

    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("account")

    def form_valid(self, form):
        response = super().form_valid(form)
        self.request.session.pop(auth.PASSWORD_EXPIRED_KEY, None)
        audit.record("password_changed", actor=self.request.user, obj=self.request.user,
                     ip_address=audit.client_ip(self.request))
        messages.success(self.request, _("Your password has been changed."))
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["expired"] = bool(self.request.session.get(auth.PASSWORD_EXPIRED_KEY))
        return context
