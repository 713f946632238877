"""The admin panel's pages alone, as tests/e2e/test_accessibility.py checks every page: axe-core
and the Nu Html Checker, in every language, and no Content-Security-Policy violation.

The page list and the checkers are test_accessibility.py's; this runs only the admin's part of
its sweep, so that the admin panel can be checked (-k admin) without the public pages.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_accessibility import (  # noqa: F401  (fixtures, found by pytest by name)
    ADMIN,
    LANGUAGES,
    STAFF,
    TRANSLATOR,
    axe_script,
    check_admin_pages,
    html_checker,
    log_out,
    make_data,
    new_audit,
)
from tests.support.e2e import csp_violations, log_in_and_load

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", LANGUAGES)
def test_admin_pages_are_accessible_valid_and_within_the_csp(
    language,
    live_server,
    new_context,
    axe_script,  # noqa: F811
    html_checker,  # noqa: F811
):
    data = make_data(live_server, language)
    audit = new_audit(new_context, axe_script, html_checker, language)
    refused = csp_violations(audit.page)

    log_in_and_load(audit.page, ADMIN)
    check_admin_pages(audit, data)
    for role, email in (("staff", STAFF), ("translator", TRANSLATOR)):
        log_out(audit)
        log_in_and_load(audit.page, email)
        audit.visit(f"admin dashboard, {role}", "/admin/")

    assert audit.javascript_errors == []
    audit.assert_clean()
    assert refused == []
