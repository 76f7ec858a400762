"""A corpus of hostile input (issue 10): what a form or an API field must store and show as text."""

HOSTILE = [
    "'; DROP TABLE cases_case; --",  # SQL
    "张三' OR '1'='1",
    "<script>alert('xss')</script>",  # HTML / JS
    '"><img src=x onerror=alert(1)>',
    "{{ 7|add:7 }}{% debug %}",  # Django template
    "${7*7}#{7*7}",
    "=HYPERLINK(\"http://x.invalid\",\"点我\")",  # CSV / spreadsheet formula
    "+SUM(1,2)",
    "王\r\nSet-Cookie: a=b",  # CRLF
    "аdmin",  # look-alike Unicode: Cyrillic а
    "李\u202e四",  # right-to-left override
    "赵\u200b钱",  # zero-width space
]
