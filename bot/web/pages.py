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
from bot.i18n import language_of, localize, t
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


def render(page: Page, *, form: str = "", locale: str | None = None) -> web.Response:
    """``form``: markup already escaped, placed after the paragraphs. ``locale``: the
    reader's language (the browser's Accept-Language); English when None or unknown."""
    lang = language_of(locale)
    page = Page(page.status, localize(page.title, lang.discord),
                tuple(localize(line, lang.discord) for line in page.lines), page.ok)
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in page.lines)
    css_class = "ok" if page.ok else "bad"
    body = (
        f"<!doctype html><html lang=\"{lang.discord}\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        "<meta name=\"robots\" content=\"noindex\">"
        f"<title>Warden - {html.escape(page.title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1 class=\"{css_class}\">{html.escape(page.title)}</h1>{paragraphs}{form}"
        "</body></html>"
    )
    return web.Response(status=page.status, text=body, content_type="text/html", charset="utf-8")


def render_confirm(result: Confirm, action_url: str, locale: str | None = None) -> web.Response:
    """The page between the DM link and the provider: it names the Discord account, so
    someone who opened another person's link sees a stranger's name and stops."""
    label = PROVIDER_LABELS[result.provider]
    target = label
    if result.provider is Provider.GAME and result.platform:
        target = t('your game account (signing in with {platform_label})',
                   platform_label=platform_label(result.platform))
    game = result.provider is Provider.GAME
    page = Page(
        200,
        t('You are linking your game account to {discord_name} on Discord',
          discord_name=result.discord_name) if game else
        t('You are linking {label} to {discord_name} on Discord',
          label=label, discord_name=result.discord_name),
        (
            t('Continuing links your game account to the Discord account {discord_name}: '
              'reports it files will be made in your name.', discord_name=result.discord_name)
            if game and not result.platform else
            t('Continuing links {target} to the Discord account {discord_name}: reports it '
              'files will be made in your name.',
              target=target, discord_name=result.discord_name),
            t('If {discord_name} is not you, close this tab. Nothing has been linked; '
              'someone may have sent you their link to take over your account.',
              discord_name=result.discord_name),
        ),
        ok=True,
    )
    continue_to = localize(t("Continue to the game's sign-in") if game else
                           t("Continue to {label}", label=label), language_of(locale).discord)
    form = (
        f"<form method=\"post\" action=\"{html.escape(action_url)}\">"
        f"<input type=\"hidden\" name=\"csrf\" value=\"{html.escape(result.token)}\">"
        f"<button type=\"submit\">{html.escape(continue_to)}</button></form>"
    )
    response = render(page, form=form, locale=locale)
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
        t('Linked as {account_name} - you can close this tab', account_name=result.account_name),
        (
            t('Your {label} account {account_name} is now linked to your Discord account. '
              'Warden sent you a DM to confirm.',
              label=label, account_name=result.account_name),
            t('You can close this tab.'),
        ),
        ok=True,
    )


def _provider_said(game: bool, label: str, error: str | None, detail: str | None) -> str:
    """What the provider's error answer said, as much of it as it gave."""
    if error and detail:
        return (t("The game's sign-in answered: {error}: {detail}", error=error, detail=detail)
                if game else t('{label} answered: {error}: {detail}', label=label, error=error,
                               detail=detail))
    if error or detail:
        return (t("The game's sign-in answered: {error}", error=error or detail) if game else
                t('{label} answered: {error}', label=label, error=error or detail))
    return (t("The game's sign-in answered with an error.") if game else
            t('{label} answered with an error.', label=label))


def _again(command: str) -> str:
    return t('Run {command} in Discord again to get a new link.', command=command)


def rejected_page(result: Rejected) -> Page:
    label = PROVIDER_LABELS[result.provider]
    # The game's accounts have no name of their own to put where Bungie.net goes: their
    # sentences are written for them.
    game = result.provider is Provider.GAME
    command = f"/link {result.provider.value}"
    again = _again(command)
    failure = result.failure
    if failure is LinkFailure.NOT_CONFIGURED:
        return Page(503, t('Game account linking is not set up') if game else
                    t('{label} linking is not set up', label=label),
                    (t('This Warden cannot link {label} accounts right now.', label=label),
                     t("Ask the server's admins to finish setting it up.")))
    if failure is LinkFailure.START_EXPIRED:
        return Page(410, t('This link has expired'),
                    (t('Links from Warden work for 10 minutes.'), again))
    if failure is LinkFailure.START_INVALID:
        return Page(410, t('This link has already been used or is not valid'),
                    (t('Each link from Warden works once, and only the newest one works.'),
                     again))
    if failure is LinkFailure.CONFIRM_EXPIRED:
        return Page(410, t('This page has expired'),
                    (t('More than 10 minutes passed on the confirmation page. Nothing was '
                       'linked.'), again))
    if failure is LinkFailure.CONFIRM_INVALID:
        return Page(400, t('This confirmation is not valid'),
                    (t("Continue only from the page Warden's link opened, once. Nothing was "
                       'linked.'), again))
    if failure is LinkFailure.STATE_EXPIRED:
        return Page(400, t('The sign-in took too long'),
                    (t("More than 10 minutes passed between leaving Warden and coming back "
                       "from the game's sign-in. Nothing was linked.") if game else
                     t('More than 10 minutes passed between leaving Warden and coming back '
                       'from {label}. Nothing was linked.',
                       label=label), again))
    if failure in (LinkFailure.STATE_INVALID, LinkFailure.STATE_MISSING,
                   LinkFailure.STATE_WRONG_PROVIDER):
        return Page(400, t('This sign-in is not valid'),
                    (t('The sign-in answer is unknown, was already used, or belongs to '
                       'another sign-in. Nothing was linked.'), again))
    if failure is LinkFailure.FOREIGN_BROWSER:
        return Page(403, t('This sign-in was started in another browser'),
                    (t('For your safety a sign-in must finish in the browser that opened '
                       "Warden's link. Nothing was linked."),
                     t("{again} Open it in this browser and don't share it.", again=again)))
    if failure is LinkFailure.PROVIDER_ERROR:
        error, detail = result.provider_error, result.provider_error_description
        said = _provider_said(game, label, error, detail)
        return Page(400, t("The game's sign-in was not completed") if game else
                    t('{label} did not complete the sign-in', label=label),
                    (said, t('Nothing was linked. {again}', again=again)))
    if failure is LinkFailure.MISSING_CODE:
        return Page(400, t("The game's sign-in sent no sign-in code") if game else
                    t('{label} sent no sign-in code', label=label),
                    (t('The answer from the sign-in page was incomplete. Nothing was linked.'),
                     again))
    if failure is LinkFailure.CODE_REJECTED:
        return Page(400, t("The game's sign-in was refused") if game else
                    t('{label} did not accept the sign-in', label=label),
                    (t('The sign-in may have taken too long, or the account cannot be used '
                       'here. Nothing was linked.'), again))
    if failure is LinkFailure.PROVIDER_UNAVAILABLE:
        return Page(502, t("The game's sign-in could not be reached") if game else
                    t('{label} could not be reached', label=label),
                    (t('Warden could not finish the sign-in because the service did not '
                       'answer. Nothing was linked.'), t('Wait a minute, then run {command} again.',
                                              command=command)))
    if failure is LinkFailure.NO_DESTINY_ACCOUNT:
        return Page(400, t('No Destiny 2 account found'),
                    (t('This Bungie.net account has no Destiny 2 account, so reports could '
                       'not be filed with it. Nothing was linked.'),
                     t('Sign in with the account you play on: {again}', again=again)))
    if failure is LinkFailure.ACCOUNT_TAKEN:
        return Page(409, t('This {label} account is linked to another Discord account',
                           label=label),
                    (t('One account can be linked to one Discord account only. Nothing was '
                       'linked.'),
                     t('Run /unlink {value} from the other Discord account first, then try '
                       'again.',
                       value=result.provider.value)))
    return internal_error_page()


def internal_error_page() -> Page:
    return Page(500, t("Something went wrong on Warden's side"),
                (t('Nothing you did. Nothing was linked.'),
                 t('Run /link in Discord again in a minute; tell a moderator if it keeps '
                   'happening.')))


def not_found_page() -> Page:
    return Page(404, t('Not found'), (t('There is nothing here.'),))
