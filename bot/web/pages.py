"""The few HTML pages the callback server shows: static, escaped, script-free.

Every dynamic string passes through ``html.escape``; the headers forbid scripts,
framing, external resources and caching, and keep the URL (which held one-time
secrets) out of any Referer.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from aiohttp import web

from bot.domain import Provider
from bot.services.linking.service import (
    PROVIDER_LABELS,
    Confirm,
    Linked,
    LinkFailure,
    Rejected,
    platform_label,
)


def content_security_policy(form_action: str = "'none'") -> str:
    return (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
        f"form-action {form_action}; frame-ancestors 'none'"
    )


SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": content_security_policy(),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
}

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;"
    "color:#1d1d1f;background:#fafafa;line-height:1.5}"
    "h1{font-size:1.4rem}.ok{color:#176f2c}.bad{color:#a4161a}"
    "code{background:#eee;padding:0 .25rem;border-radius:3px}"
    "button{font-size:1rem;padding:.5rem 1rem;margin-top:.5rem}"
)


@dataclass(frozen=True)
class Page:
    status: int
    title: str
    lines: tuple[str, ...]
    ok: bool = False


def render(page: Page, *, form: str = "") -> web.Response:
    """``form``: markup already escaped, placed after the paragraphs."""
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in page.lines)
    css_class = "ok" if page.ok else "bad"
    body = (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        "<meta name=\"robots\" content=\"noindex\">"
        f"<title>Warden - {html.escape(page.title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1 class=\"{css_class}\">{html.escape(page.title)}</h1>{paragraphs}{form}"
        "</body></html>"
    )
    return web.Response(status=page.status, text=body, content_type="text/html", charset="utf-8")


def render_confirm(result: Confirm, action_url: str) -> web.Response:
    """The page between the DM link and the provider: it names the Discord account, so
    someone who opened another person's link sees a stranger's name and stops."""
    label = PROVIDER_LABELS[result.provider]
    target = label
    if result.provider is Provider.GAME and result.platform:
        target = f"your game account (signing in with {platform_label(result.platform)})"
    page = Page(
        200,
        f"You are linking {label} to {result.discord_name} on Discord",
        (
            f"Continuing links {target} to the Discord account {result.discord_name}: "
            "reports it files will be made in your name.",
            f"If {result.discord_name} is not you, close this tab. Nothing has been linked; "
            "someone may have sent you their link to take over your account.",
        ),
        ok=True,
    )
    form = (
        f"<form method=\"post\" action=\"{html.escape(action_url)}\">"
        f"<input type=\"hidden\" name=\"csrf\" value=\"{html.escape(result.token)}\">"
        f"<button type=\"submit\">Continue to {html.escape(label)}</button></form>"
    )
    response = render(page, form=form)
    # Browsers check form-action on every redirect of the form's navigation: ours to the
    # provider, and the provider's own on to a platform's sign-in (Steam, PSN, ...), whose
    # origin Warden cannot know. So any https origin, and the provider's even if it is
    # plain http (a stand-in); the page itself has no markup anyone could inject.
    response.headers["Content-Security-Policy"] = content_security_policy(
        f"'self' https: {result.provider_origin}"
    )
    return response


def linked_page(result: Linked) -> Page:
    label = PROVIDER_LABELS[result.provider]
    return Page(
        200,
        f"Linked as {result.account_name} - you can close this tab",
        (
            f"Your {label} account {result.account_name} is now linked to your Discord "
            "account. Warden sent you a DM to confirm.",
            "You can close this tab.",
        ),
        ok=True,
    )


def _again(command: str) -> str:
    return f"Run {command} in Discord again to get a new link."


def rejected_page(result: Rejected) -> Page:
    label = PROVIDER_LABELS[result.provider]
    command = f"/link {result.provider.value}"
    again = _again(command)
    failure = result.failure
    if failure is LinkFailure.NOT_CONFIGURED:
        return Page(503, f"{label} linking is not set up",
                    (f"This Warden cannot link {label} accounts right now.",
                     "Ask the server's admins to finish setting it up."))
    if failure is LinkFailure.START_EXPIRED:
        return Page(410, "This link has expired",
                    ("Links from Warden work for 10 minutes.", again))
    if failure is LinkFailure.START_INVALID:
        return Page(410, "This link has already been used or is not valid",
                    ("Each link from Warden works once, and only the newest one works.",
                     again))
    if failure is LinkFailure.CONFIRM_EXPIRED:
        return Page(410, "This page has expired",
                    ("More than 10 minutes passed on the confirmation page. Nothing was "
                     "linked.", again))
    if failure is LinkFailure.CONFIRM_INVALID:
        return Page(400, "This confirmation is not valid",
                    ("Continue only from the page Warden's link opened, once. Nothing was "
                     "linked.", again))
    if failure is LinkFailure.STATE_EXPIRED:
        return Page(400, "The sign-in took too long",
                    (f"More than 10 minutes passed between leaving Warden and coming back from "
                     f"{label}. Nothing was linked.", again))
    if failure in (LinkFailure.STATE_INVALID, LinkFailure.STATE_MISSING,
                   LinkFailure.STATE_WRONG_PROVIDER):
        return Page(400, "This sign-in is not valid",
                    ("The sign-in answer is unknown, was already used, or belongs to another "
                     "sign-in. Nothing was linked.", again))
    if failure is LinkFailure.FOREIGN_BROWSER:
        return Page(403, "This sign-in was started in another browser",
                    ("For your safety a sign-in must finish in the browser that opened "
                     "Warden's link. Nothing was linked.",
                     f"{again} Open it in this browser and don't share it."))
    if failure is LinkFailure.PROVIDER_ERROR:
        said = result.provider_error or "an error"
        if result.provider_error_description:
            said += f": {result.provider_error_description}"
        return Page(400, f"{label} did not complete the sign-in",
                    (f"{label} answered: {said}", "Nothing was linked. " + again))
    if failure is LinkFailure.MISSING_CODE:
        return Page(400, f"{label} sent no sign-in code",
                    ("The answer from the sign-in page was incomplete. Nothing was linked.",
                     again))
    if failure is LinkFailure.CODE_REJECTED:
        return Page(400, f"{label} did not accept the sign-in",
                    ("The sign-in may have taken too long, or the account cannot be used "
                     "here. Nothing was linked.", again))
    if failure is LinkFailure.PROVIDER_UNAVAILABLE:
        return Page(502, f"{label} could not be reached",
                    ("Warden could not finish the sign-in because the service did not answer. "
                     "Nothing was linked.", f"Wait a minute, then run {command} again."))
    if failure is LinkFailure.NO_DESTINY_ACCOUNT:
        return Page(400, "No Destiny 2 account found",
                    ("This Bungie.net account has no Destiny 2 account, so reports could not "
                     "be filed with it. Nothing was linked.",
                     f"Sign in with the account you play on: {again}"))
    if failure is LinkFailure.ACCOUNT_TAKEN:
        return Page(409, f"This {label} account is linked to another Discord account",
                    ("One account can be linked to one Discord account only. Nothing was "
                     "linked.",
                     f"Run /unlink {result.provider.value} from the other Discord account "
                     "first, then try again."))
    return internal_error_page()


def internal_error_page() -> Page:
    return Page(500, "Something went wrong on Warden's side",
                ("Nothing you did. Nothing was linked.",
                 "Run /link in Discord again in a minute; tell a moderator if it keeps "
                 "happening."))


def not_found_page() -> Page:
    return Page(404, "Not found", ("There is nothing here.",))
