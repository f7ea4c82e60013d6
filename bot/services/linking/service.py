"""Account linking: proving which Bungie.net and game accounts a Discord member owns.

The flow, and why each step exists:

1. ``offer_link`` makes a one-time *start secret* (10 minutes, only the newest per
   member and provider), stored with the member's Discord name, and DMs its URL. The
   URL is the member's only credential.
2. ``begin`` (a GET of the start route) consumes it and answers with a confirmation
   page naming the Discord account being linked: whoever opens a link someone else
   sent them sees a stranger's name (forced linking). The page's form carries a
   *confirm* token bound to a cookie the server made for this browser.
3. ``proceed`` (the POST of that form) consumes the confirm token, checks the cookie,
   binds a fresh OAuth ``state`` to the member, the provider, the platform and a new
   browser cookie, and returns the provider's authorize URL. A GET never gets there.
4. ``complete`` (the callback) consumes the state atomically; anything unknown,
   expired, reused, meant for the other provider or arriving in another browser is
   refused and links nothing. Otherwise the code is exchanged, the account read, the
   link stored with sealed tokens, and the member gets a DM.

A refusal with a known member is audited; one without (junk from the internet) is only
counted in ``warden_link_rejections_total``, so nobody can fill the audit table.

``access_token`` hands out a valid token, refreshing under a per-link lock; a
grant that is gone marks the link broken and raises ``NeedsLink``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
import secrets
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.apis.errors import ApiError, AuthError, AuthRevoked, DestinationDisabled
from bot.crypto import TokenBox, TokenDecryptError
from bot.domain import GamePlatform, Provider
from bot.errors import InvalidInput, NeedsLink, UserFacingError
from bot.i18n import t
from bot.metrics import WardenMetrics
from bot.notify import DmOutcome, LinkButton, Notice, Notifier
from bot.services.linking.providers import FreshTokens, LinkProvider, NoDestinyAccount
from bot.store import Store
from bot.store.links import AccountLink, AccountTaken, LinkStatus, NewLink, SealedTokens
from bot.store.oauth_states import ConsumeFailure, OAuthSecret, SecretKind, hash_secret

log = logging.getLogger(__name__)

SECRET_BYTES = 32
"""256 bits from ``secrets`` for start links, states and browser cookies."""
START_TTL = 600.0
STATE_TTL = 600.0
REFRESH_MARGIN = 120.0
"""Refresh this long before the access token expires, so it never expires in flight."""
REFRESH_CLAIM_SECONDS = 60.0
"""How long one process's claim to refresh a link lasts (longer than a refresh call
with its retries); another process waits for its result meanwhile."""
REFRESH_WAIT_POLL = 0.1
_SHOWN_ERROR_MAX = 120
_SHOWN_DESCRIPTION_MAX = 300

PROVIDER_LABELS: dict[Provider, str] = {Provider.BUNGIE: "Bungie.net",
                                        # i18n: as in "your game account"
                                        Provider.GAME: t("game")}
_LINKED_TITLES: dict[Provider, str] = {Provider.BUNGIE: t("Bungie.net account linked"),
                                       Provider.GAME: t("Game account linked")}
PLATFORM_LABELS: dict[GamePlatform, str] = {
    GamePlatform.STEAM: "Steam",
    GamePlatform.EPIC: "Epic Games",
    GamePlatform.XBOX: "Xbox",
    GamePlatform.PSN: "PlayStation",
    GamePlatform.NINTENDO: "Nintendo",
    GamePlatform.GOOGLE: "Google",
    GamePlatform.APPLE: "Apple",
    GamePlatform.AMAZON: "Amazon",
    GamePlatform.TWITCH: "Twitch",
}


class LinkFailure(enum.StrEnum):
    """Why a step of the browser flow was refused; the web page explains each one."""

    NOT_CONFIGURED = "not_configured"
    START_INVALID = "start_invalid"
    START_EXPIRED = "start_expired"
    CONFIRM_INVALID = "confirm_invalid"
    CONFIRM_EXPIRED = "confirm_expired"
    STATE_MISSING = "state_missing"
    STATE_INVALID = "state_invalid"
    STATE_EXPIRED = "state_expired"
    STATE_WRONG_PROVIDER = "state_wrong_provider"
    FOREIGN_BROWSER = "foreign_browser"
    PROVIDER_ERROR = "provider_error"
    MISSING_CODE = "missing_code"
    CODE_REJECTED = "code_rejected"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    NO_DESTINY_ACCOUNT = "no_destiny_account"
    ACCOUNT_TAKEN = "account_taken"
    INTERNAL = "internal"


@dataclass(frozen=True)
class Rejected:
    provider: Provider
    failure: LinkFailure
    provider_error: str | None = None
    """The provider's own ``error`` value (untrusted text: escape before showing)."""
    provider_error_description: str | None = None
    locale: str | None = None
    """The member's last seen Discord locale, when the link names a member: the page's
    language when the browser states none."""


@dataclass(frozen=True)
class Confirm:
    """The confirmation page: who is being linked, and what its form must send back."""

    provider: Provider
    discord_name: str
    platform: str | None
    token: str
    """The form's CSRF token, valid once, in the browser holding ``browser_nonce``."""
    browser_nonce: str
    """The cookie value, made here: never one a browser sent."""
    provider_origin: str
    """Where the form's POST is redirected (the page's CSP must allow it)."""
    locale: str | None = None
    """The member's last seen Discord locale (see ``Rejected.locale``)."""


@dataclass(frozen=True)
class Redirect:
    url: str
    browser_nonce: str
    """A new cookie value for the browser; the OAuth state is bound to it."""


@dataclass(frozen=True)
class Linked:
    provider: Provider
    account_name: str
    relinked: bool
    locale: str | None = None
    """The member's last seen Discord locale (see ``Rejected.locale``)."""


class LinkHealth(enum.StrEnum):
    WORKING = "working"
    EXPIRED = "expired"
    """The refresh token's lifetime has passed."""
    BROKEN = "broken"
    """Refreshing failed for good (revoked, invalid)."""


@dataclass(frozen=True)
class LinkSummary:
    """A link as members and other services may see it: no tokens."""

    provider: Provider
    account_id: str
    account_name: str
    platform: str | None
    destiny_membership_id: int | None
    destiny_membership_type: int | None
    memberships: tuple[dict[str, Any], ...]
    linked_at: float
    health: LinkHealth
    problem: str | None


@dataclass(frozen=True)
class LinkOffer:
    url: str
    expires_at: float
    dm: DmOutcome
    provider_label: str


class LinkingService:
    def __init__(
        self,
        *,
        store: Store,
        box: TokenBox,
        public_base_url: str,
        providers: Iterable[LinkProvider],
        notifier: Notifier,
        metrics: WardenMetrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._box = box
        self._base = public_base_url.rstrip("/")
        self._providers: dict[Provider, LinkProvider] = {p.provider: p for p in providers}
        self._notifier = notifier
        self._clock = clock
        # One lock per link, dropped when nobody holds or waits for it.
        self._locks: weakref.WeakValueDictionary[tuple[int, Provider], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    # -- addresses -------------------------------------------------------------------

    def start_path(self, provider: Provider) -> str:
        return f"/oauth/{provider.value}/start"

    def callback_path(self, provider: Provider) -> str:
        return f"/oauth/{provider.value}/callback"

    def start_url(self, provider: Provider) -> str:
        """Where the confirmation page's form posts to (no query: no secret in it)."""
        return self._base + self.start_path(provider)

    def callback_url(self, provider: Provider) -> str:
        """Registered with the provider by the operator; fixed for that reason."""
        return self._base + self.callback_path(provider)

    def configured(self, provider: Provider) -> bool:
        return provider in self._providers

    # -- 1. the DM ---------------------------------------------------------------------

    async def offer_link(
        self,
        discord_user_id: int,
        provider: Provider,
        platform: GamePlatform | None = None,
        *,
        discord_name: str | None,
    ) -> LinkOffer:
        """Make a one-time start link and DM it; the offer says whether the DM arrived.

        ``discord_name`` (``@handle``) is what the confirmation page will show.
        """
        url, expires_at = await self._start_url(discord_user_id, provider, platform,
                                                 discord_name)
        label = PROVIDER_LABELS[provider]
        notice = Notice(
            title=t('Link your {label} account', label=label),
            text=(
                t('Open the button below within {int} minutes to sign in with '
                  '{provider_sign_in}. The link works once and only for you: do not share '
                  'it. Warden never sees your password.',
                  int=int(START_TTL // 60), provider_sign_in=_provider_sign_in(provider, platform))
            ),
            buttons=(LinkButton(label=t('Link {label} account', label=label), url=url),),
        )
        outcome = await self._notifier.send_dm(discord_user_id, notice)
        return LinkOffer(url=url, expires_at=expires_at, dm=outcome, provider_label=label)

    async def relink_buttons(
        self, discord_user_id: int, providers: Iterable[str], *, discord_name: str | None
    ) -> list[LinkButton]:
        """Fresh one-time links for a member told to (re)link; for the reply that says so.

        A game link needs the platform: it comes from the broken link, and without one
        the member has to choose it with ``/link game``.
        """
        buttons: list[LinkButton] = []
        for name in providers:
            try:
                provider = Provider(name)
            except ValueError:
                continue
            if not self.configured(provider):
                continue
            platform: GamePlatform | None = None
            if provider is Provider.GAME:
                link = await self._store.links.get(discord_user_id, provider)
                if link is None or link.platform not in _PLATFORM_VALUES:
                    continue
                platform = GamePlatform(link.platform)
            url, _ = await self._start_url(discord_user_id, provider, platform, discord_name)
            again = (t("Link game account again") if provider is Provider.GAME else
                     t('Link {value} again', value=PROVIDER_LABELS[provider]))
            buttons.append(LinkButton(label=again, url=url))
        return buttons

    async def _start_url(
        self,
        discord_user_id: int,
        provider: Provider,
        platform: GamePlatform | None,
        discord_name: str | None,
    ) -> tuple[str, float]:
        self._need(provider)
        if provider is Provider.GAME and platform is None:
            raise InvalidInput(t('Choose the platform you play on, for example `/link game '
                                 'steam`.'))
        if provider is Provider.BUNGIE:
            platform = None
        secret = _new_secret()
        row = await self._store.oauth_states.create(
            SecretKind.START,
            secret,
            discord_user_id=discord_user_id,
            provider=provider,
            platform=None if platform is None else platform.value,
            ttl=START_TTL,
            discord_name=discord_name,
            replace_previous=True,
            now=self._clock(),
        )
        return f"{self.start_url(provider)}?t={secret}", row.expires_at

    # -- 2. the start route: the confirmation page ----------------------------------------

    async def begin(self, provider: Provider, start_secret: str | None) -> Confirm | Rejected:
        """Consume the DM link; answer with the page that names the Discord account."""
        found = await self._take(SecretKind.START, start_secret, provider, stage="start",
                                 invalid=LinkFailure.START_INVALID,
                                 expired=LinkFailure.START_EXPIRED,
                                 wrong_provider=LinkFailure.START_INVALID)
        if isinstance(found, Rejected):
            return found
        adapter = self._providers.get(provider)
        if adapter is None:
            return await self._reject(provider, LinkFailure.NOT_CONFIGURED,
                                      user=found.discord_user_id, stage="start")
        try:
            # Built for its origin only (the page's form-action); the real one comes later.
            origin = _origin(adapter.authorize_url(
                "-", platform=found.platform, redirect_uri=self.callback_url(provider)
            ))
        except ApiError as exc:
            log.warning("cannot build the %s authorize URL: %s", provider.value, exc)
            return await self._reject(provider, LinkFailure.NOT_CONFIGURED,
                                      user=found.discord_user_id, stage="start")
        token, nonce = _new_secret(), _new_secret()
        await self._store.oauth_states.create(
            SecretKind.CONFIRM,
            token,
            discord_user_id=found.discord_user_id,
            provider=provider,
            platform=found.platform,
            browser_hash=hash_secret(nonce),
            discord_name=found.discord_name,
            ttl=STATE_TTL,
            now=self._clock(),
        )
        return Confirm(
            provider=provider,
            discord_name=found.discord_name or t("the Discord user with id {id}",
                                                 id=found.discord_user_id),
            platform=found.platform,
            token=token,
            browser_nonce=nonce,
            provider_origin=origin,
            locale=await self._store.locales.locale(found.discord_user_id),
        )

    # -- 3. the confirmation page's form ------------------------------------------------

    async def proceed(
        self, provider: Provider, token: str | None, *, browser_nonce: str | None
    ) -> Redirect | Rejected:
        """The confirmation form came back: check its token and cookie, go to the provider."""
        found = await self._take(SecretKind.CONFIRM, token, provider, stage="confirm",
                                 invalid=LinkFailure.CONFIRM_INVALID,
                                 expired=LinkFailure.CONFIRM_EXPIRED,
                                 wrong_provider=LinkFailure.CONFIRM_INVALID)
        if isinstance(found, Rejected):
            return found
        user = found.discord_user_id
        if not _same_browser(found, browser_nonce):
            return await self._reject(provider, LinkFailure.FOREIGN_BROWSER, user=user,
                                      stage="confirm")
        adapter = self._providers.get(provider)
        if adapter is None:
            return await self._reject(provider, LinkFailure.NOT_CONFIGURED, user=user,
                                      stage="confirm")
        state, nonce = _new_secret(), _new_secret()
        await self._store.oauth_states.create(
            SecretKind.STATE,
            state,
            discord_user_id=user,
            provider=provider,
            platform=found.platform,
            browser_hash=hash_secret(nonce),
            ttl=STATE_TTL,
            now=self._clock(),
        )
        try:
            url = adapter.authorize_url(
                state, platform=found.platform, redirect_uri=self.callback_url(provider)
            )
        except ApiError as exc:
            log.warning("cannot build the %s authorize URL: %s", provider.value, exc)
            return await self._reject(provider, LinkFailure.NOT_CONFIGURED, user=user,
                                      stage="confirm")
        return Redirect(url, browser_nonce=nonce)

    # -- 4. the callback -------------------------------------------------------------------

    async def complete(
        self, provider: Provider, params: Mapping[str, str], *, browser_nonce: str | None
    ) -> Linked | Rejected:
        """Check the provider's redirect back and, if everything holds, store the link."""
        adapter = self._providers.get(provider)
        if adapter is None:
            return await self._reject(provider, LinkFailure.NOT_CONFIGURED, user=None)
        state = params.get("state")
        if not state:
            return await self._reject(provider, LinkFailure.STATE_MISSING, user=None)
        found = await self._take(SecretKind.STATE, state, provider, stage="callback",
                                 invalid=LinkFailure.STATE_INVALID,
                                 expired=LinkFailure.STATE_EXPIRED,
                                 wrong_provider=LinkFailure.STATE_WRONG_PROVIDER)
        if isinstance(found, Rejected):
            return found
        user = found.discord_user_id
        if not _same_browser(found, browser_nonce):
            return await self._reject(provider, LinkFailure.FOREIGN_BROWSER, user=user)
        # Only now is the provider's error worth showing: the state proves this browser
        # started the sign-in, so nobody can plant text on the page with a crafted URL.
        callback = adapter.read_callback(params)
        if callback.error:
            return await self._reject(
                provider,
                LinkFailure.PROVIDER_ERROR,
                user=user,
                provider_error=callback.error[:_SHOWN_ERROR_MAX],
                provider_error_description=(callback.error_description or "")[
                    :_SHOWN_DESCRIPTION_MAX
                ]
                or None,
            )
        if not callback.code:
            return await self._reject(provider, LinkFailure.MISSING_CODE, user=user)
        try:
            account = await adapter.complete(
                callback.code, platform=found.platform, redirect_uri=self.callback_url(provider)
            )
        except NoDestinyAccount:
            return await self._reject(provider, LinkFailure.NO_DESTINY_ACCOUNT, user=user)
        except DestinationDisabled:
            return await self._reject(provider, LinkFailure.NOT_CONFIGURED, user=user)
        except AuthError as exc:
            log.info("%s refused the sign-in of user %s: %s", provider.value, user, exc)
            return await self._reject(provider, LinkFailure.CODE_REJECTED, user=user,
                                      provider_error=exc.code)
        except ApiError as exc:
            log.warning("%s unavailable while linking user %s: %s", provider.value, user, exc)
            return await self._reject(provider, LinkFailure.PROVIDER_UNAVAILABLE, user=user)
        name = account.display_name or account.account_id
        try:
            stored = await self._store.links.upsert(
                NewLink(
                    discord_user_id=user,
                    provider=provider,
                    account_id=account.account_id,
                    display_name=account.display_name,
                    tokens=self._seal(account.tokens),
                    platform=found.platform,
                    destiny_membership_id=account.destiny_membership_id,
                    destiny_membership_type=account.destiny_membership_type,
                    details=account.details,
                ),
                now=self._clock(),
            )
        except AccountTaken:
            return await self._reject(provider, LinkFailure.ACCOUNT_TAKEN, user=user)
        await self._confirm(user, provider, name, found.platform)
        return Linked(provider=provider, account_name=name, relinked=stored.previous is not None,
                      locale=await self._store.locales.locale(user))

    async def _confirm(
        self, user: int, provider: Provider, name: str, platform: str | None
    ) -> None:
        label = PROVIDER_LABELS[provider]
        notice = Notice(
            title=_LINKED_TITLES[provider],
            text=(
                t('Your {label} account is now linked as {name} (signed in with {platform}). '
                  'See your links with /links; remove this one with /unlink {value}.',
                  label=label, name=name, platform=platform_label(platform),
                  value=provider.value) if platform else
                t('Your {label} account is now linked as {name}. See your links with '
                  '/links; remove this one with /unlink {value}.',
                  label=label, name=name, value=provider.value)
            ),
        )
        outcome = await self._notifier.send_dm(user, notice)
        if outcome is not DmOutcome.SENT:
            log.info("link confirmation DM to user %s not delivered: %s", user, outcome.value)

    async def _take(
        self,
        kind: SecretKind,
        secret: str | None,
        provider: Provider,
        *,
        stage: str,
        invalid: LinkFailure,
        expired: LinkFailure,
        wrong_provider: LinkFailure,
    ) -> OAuthSecret | Rejected:
        """Consume a one-time secret of ``kind`` meant for ``provider``, or say why not.

        Until a secret is found it names nobody, so those refusals are only counted.
        """
        if not looks_like_secret(secret):
            return await self._reject(provider, invalid, user=None, stage=stage)
        assert secret is not None
        found = await self._store.oauth_states.consume(kind, secret, now=self._clock())
        if isinstance(found, ConsumeFailure):
            failure = expired if found is ConsumeFailure.EXPIRED else invalid
            return await self._reject(provider, failure, user=None, stage=stage)
        if found.provider is not provider:
            return await self._reject(provider, wrong_provider, user=found.discord_user_id,
                                      stage=stage)
        return found

    async def _reject(
        self,
        provider: Provider,
        failure: LinkFailure,
        *,
        user: int | None,
        stage: str = "callback",
        provider_error: str | None = None,
        provider_error_description: str | None = None,
    ) -> Rejected:
        self._metrics.link_rejections.inc(stage=stage, reason=failure.value)
        if user is None:
            # Anyone on the internet can send junk: counting it is enough, and the audit
            # table (permanent, one write each) stays for what members did.
            return Rejected(provider, failure, provider_error, provider_error_description)
        details: dict[str, Any] = {"provider": provider.value, "reason": failure.value}
        if provider_error:
            details["provider_error"] = provider_error[:_SHOWN_ERROR_MAX]
        await self._store.audit.record(
            f"link.{stage}_rejected", actor_id=user, details=details, at=self._clock()
        )
        return Rejected(provider, failure, provider_error, provider_error_description,
                        locale=await self._store.locales.locale(user))

    # -- links -------------------------------------------------------------------------

    async def links(self, discord_user_id: int) -> list[LinkSummary]:
        return [self._summary(link) for link in await self._store.links.list_for(discord_user_id)]

    async def link(self, discord_user_id: int, provider: Provider) -> LinkSummary | None:
        found = await self._store.links.get(discord_user_id, provider)
        return None if found is None else self._summary(found)

    async def unlink(self, discord_user_id: int, which: str) -> list[LinkSummary]:
        """Forget the member's link(s) and erase their tokens; returns what was removed."""
        if which == "all":
            chosen = list(Provider)
        else:
            try:
                chosen = [Provider(which)]
            except ValueError:
                raise InvalidInput(t('Choose bungie, game or all.')) from None
        removed: list[LinkSummary] = []
        for provider in chosen:
            gone = await self._store.links.delete(discord_user_id, provider, now=self._clock())
            if gone is not None:
                removed.append(self._summary(gone))
        return removed

    def _summary(self, link: AccountLink) -> LinkSummary:
        health, problem = LinkHealth.WORKING, None
        now = self._clock()
        if link.status is LinkStatus.BROKEN or link.tokens is None:
            health, problem = (LinkHealth.BROKEN,
                               relink_reason(link.status_reason or _NO_TOKENS, link.provider))
        elif link.tokens.refresh_token is None:
            if link.tokens.access_expires_at is not None and link.tokens.access_expires_at <= now:
                health, problem = LinkHealth.EXPIRED, t(
                    "the sign-in expired and cannot be renewed")
        elif link.tokens.refresh_expires_at is not None and link.tokens.refresh_expires_at <= now:
            health, problem = LinkHealth.EXPIRED, t(
                "the sign-in is older than the provider allows")
        memberships = link.details.get("memberships") or []
        return LinkSummary(
            provider=link.provider,
            account_id=link.account_id,
            account_name=link.display_name or link.account_id,
            platform=link.platform,
            destiny_membership_id=link.destiny_membership_id,
            destiny_membership_type=link.destiny_membership_type,
            memberships=tuple(m for m in memberships if isinstance(m, dict)),
            linked_at=link.linked_at,
            health=health,
            problem=problem,
        )

    # -- tokens ------------------------------------------------------------------------

    async def access_token(
        self, discord_user_id: int, provider: Provider, *, rejected: str | None = None
    ) -> str:
        """A valid access token for the member's link, refreshed if it is about to expire.

        ``rejected``: a token the provider just refused as expired although it looked
        valid; if it is still the stored one it is refreshed now (once, however many
        callers saw it refused), otherwise the newer stored token is returned.

        Raises ``NeedsLink`` when there is no usable link (the member must link again),
        and ``ApiError`` when the provider could not be reached to refresh (try later).
        """
        link = await self._usable_link(discord_user_id, provider)
        token = self._fresh_access(link, rejected)
        if token is not None:
            return token
        key = (discord_user_id, provider)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            while True:
                # Whoever held the lock before, here or in another process, may have
                # refreshed already.
                link = await self._usable_link(discord_user_id, provider)
                token = self._fresh_access(link, rejected)
                if token is not None:
                    return token
                claim = await self._store.links.claim_refresh(
                    discord_user_id, provider, now=self._clock(), seconds=REFRESH_CLAIM_SECONDS
                )
                if claim is not None:
                    try:
                        return await self._refresh(link)
                    finally:
                        await self._store.links.release_refresh(discord_user_id, provider, claim)
                # Another process is refreshing this link: its result lands in the
                # database (or its claim runs out, if it died).
                await asyncio.sleep(REFRESH_WAIT_POLL)

    async def _usable_link(self, discord_user_id: int, provider: Provider) -> AccountLink:
        label = PROVIDER_LABELS[provider]
        link = await self._store.links.get(discord_user_id, provider)
        if link is None:
            raise NeedsLink(
                t('You have not linked your {label} account yet. Run `/link {value}` first; '
                  'it takes a minute.',
                  label=label, value=provider.value),
                providers=[provider.value],
            )
        if link.status is LinkStatus.BROKEN or link.tokens is None:
            raise _needs_relink(provider, link.status_reason)
        return link

    def _fresh_access(self, link: AccountLink, rejected: str | None = None) -> str | None:
        """The stored access token if it can still be used, else None (refresh it)."""
        tokens = link.tokens
        assert tokens is not None  # _usable_link guarantees it
        expires_at = tokens.access_expires_at
        if expires_at is not None and expires_at - REFRESH_MARGIN <= self._clock():
            return None
        token = self._open(tokens.access_token)
        if rejected is not None and secrets.compare_digest(token, rejected):
            return None
        return token

    async def _refresh(self, link: AccountLink) -> str:
        assert link.tokens is not None
        user, provider = link.discord_user_id, link.provider
        sealed_refresh = link.tokens.refresh_token
        adapter = self._providers.get(provider)
        if adapter is None:
            raise UserFacingError(
                t("Game account linking is not set up on this Warden any more; ask the "
                  "server's admins.") if provider is Provider.GAME else
                t("{value} is not set up on this Warden any more; ask the server's admins.",
                  value=PROVIDER_LABELS[provider])
            )
        now = self._clock()
        refresh_expires = link.tokens.refresh_expires_at
        if sealed_refresh is None or (refresh_expires is not None and refresh_expires <= now):
            reason = _EXPIRED if sealed_refresh else _NO_REFRESH_TOKEN
            await self._store.links.mark_broken(
                user, provider, reason=reason, expected_refresh_token=sealed_refresh, now=now,
                same_secret=self._same_secret,
            )
            raise _needs_relink(provider, reason)
        try:
            fresh = await adapter.refresh(self._open(sealed_refresh))
        except AuthRevoked as exc:
            reason = _REVOKED
            log.info("refresh of user %s's %s link refused: %s", user, provider.value, exc)
            await self._store.links.mark_broken(
                user, provider, reason=reason, expected_refresh_token=sealed_refresh,
                now=self._clock(), same_secret=self._same_secret,
            )
            raise _needs_relink(provider, reason) from None
        except ApiError as exc:
            log.warning("refresh of user %s's %s link failed: %s", user, provider.value, exc)
            await self._store.links.record_refresh_failure(
                user, provider, reason=f"{type(exc).__name__}: {exc.code or exc.status or ''}",
                now=self._clock(),
            )
            raise
        stored = await self._store.links.replace_tokens(
            user, provider, expected_refresh_token=sealed_refresh, tokens=self._seal(fresh),
            now=self._clock(), same_secret=self._same_secret,
        )
        if not stored:
            # Relinked or unlinked while we refreshed: the new state of the link wins.
            log.info("user %s's %s link changed during a refresh", user, provider.value)
            link = await self._usable_link(user, provider)
            token = self._fresh_access(link)
            if token is None:
                raise _needs_relink(provider, "the link changed; try again")
            return token
        return fresh.access_token

    def _seal(self, tokens: FreshTokens) -> SealedTokens:
        return SealedTokens(
            access_token=self._box.seal(tokens.access_token),
            refresh_token=None if tokens.refresh_token is None else self._box.seal(
                tokens.refresh_token
            ),
            access_expires_at=tokens.access_expires_at,
            refresh_expires_at=tokens.refresh_expires_at,
        )

    def _same_secret(self, a: bytes, b: bytes) -> bool:
        """Two ciphertexts of one token (``rekey`` re-encrypts while Warden runs)."""
        try:
            return secrets.compare_digest(self._box.open(a), self._box.open(b))
        except TokenDecryptError:
            return False

    def _open(self, sealed: bytes) -> str:
        try:
            return self._box.open(sealed)
        except TokenDecryptError:
            # An operator dropped the key too early: say so, and let the member relink.
            log.error("a stored token cannot be decrypted: TOKEN_ENCRYPTION_KEY lost a key "
                      "that is still in use (run `python -m bot rekey` before dropping keys)")
            raise UserFacingError(
                t("Warden cannot read your stored sign-in. Ask the server's admins; linking "
                  'again with /link also fixes it.')
            ) from None

    def _need(self, provider: Provider) -> LinkProvider:
        adapter = self._providers.get(provider)
        if adapter is None:
            raise UserFacingError(
                t("Linking a {value} account is not set up on this Warden. Ask the server's "
                  'admins to configure it.',
                  value=PROVIDER_LABELS[provider])
            )
        return adapter


_PLATFORM_VALUES = frozenset(p.value for p in GamePlatform)


def _new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
"""What ``_new_secret`` makes: 32 bytes in unpadded url-safe base64."""


def looks_like_secret(value: str | None) -> bool:
    """Anything else was never issued, so it is refused without a database write."""
    return value is not None and _SECRET_SHAPE.fullmatch(value) is not None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _same_browser(found: OAuthSecret, browser_nonce: str | None) -> bool:
    if found.browser_hash is None or not browser_nonce:
        return False
    return secrets.compare_digest(found.browser_hash, hash_secret(browser_nonce))


# Why a link broke, as stored (``account_links.status_reason``): a code, worded for each
# reader when shown. Rows from before the codes hold English text, shown as it is.
_EXPIRED = "sign_in_expired"
_NO_REFRESH_TOKEN = "no_refresh_token"  # noqa: S105 (a reason code, not a secret)
_REVOKED = "sign_in_revoked"
_NO_TOKENS = "no_tokens"


def relink_reason(code: str, provider: Provider) -> str:
    """Why a link needs relinking, in words (a message) from its stored code."""
    if code == _EXPIRED:
        return t("the sign-in expired")
    if code == _NO_REFRESH_TOKEN:
        return t("no refresh token was issued")
    if code == _REVOKED:
        return (t("the game no longer accepts the sign-in") if provider is Provider.GAME else
                t("{label} no longer accepts the sign-in", label=PROVIDER_LABELS[provider]))
    if code == _NO_TOKENS:
        return t("no usable tokens")
    return code


def _needs_relink(provider: Provider, reason: str | None) -> NeedsLink:
    label = PROVIDER_LABELS[provider]
    return NeedsLink(
        t('Your {label} link no longer works ({reason}). Link it again with `/link {value}`.',
          label=label, reason=relink_reason(reason, provider), value=provider.value)
        if reason else
        t('Your {label} link no longer works. Link it again with `/link {value}`.',
          label=label, value=provider.value),
        providers=[provider.value],
    )


def _provider_sign_in(provider: Provider, platform: GamePlatform | None) -> str:
    if provider is Provider.GAME:
        # i18n: both fill "sign in with {provider_sign_in}"
        return (t("your {platform} account", platform=PLATFORM_LABELS[platform])
                if platform is not None else t("your game account"))
    return PROVIDER_LABELS[provider]


def platform_label(platform: str | None) -> str:
    """"Steam" for "steam"; an unknown stored value as it is."""
    if platform in _PLATFORM_VALUES:
        return PLATFORM_LABELS[GamePlatform(platform)]
    return platform or ""
