"""Who a report is about, and who is reporting, in each destination's terms.

A member names the player as a Bungie name (``Name#1234``), a game player uuid,
an in-game display name, or a server member (whose account links say who they are
in game; without a game link, the game backend's own Discord identity may). A game
player uuid is checked with the game backend at once. Whatever the form, the result
is one ``Identity`` with every id Warden could establish, and a canonical ``key`` so
the same person reached by two routes counts as one target for the duplicate limits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

from bot.apis.bungie import BungieClient, DestinyMembership, Pgcr, PgcrEntry, find_entry
from bot.apis.bungie import parse_bungie_name as _parse_bungie_name
from bot.apis.errors import ApiError
from bot.domain import Provider
from bot.errors import InvalidInput, NotAllowed, UserFacingError
from bot.i18n import t
from bot.notify import GuildMembers
from bot.services.reporting.game_players import GamePlayers
from bot.services.reporting.typed_input import parse_member, parse_uuid, shown
from bot.store.links import AccountLink, LinkStore

log = logging.getLogger(__name__)

SELF_REPORT = "You can't report yourself."
CHOICES_SHOWN = 10


@dataclass(frozen=True)
class Identity:
    """A person as far as Warden knows them; any field may be unknown."""

    discord_id: int | None = None
    destiny_membership_id: int | None = None
    destiny_membership_type: int | None = None
    other_destiny_membership_ids: tuple[int, ...] = ()
    """Further memberships of the same Bungie.net account (cross-save)."""
    bungie_name: str | None = None
    character_id: int | None = None
    """The character that played the activity under report, when there is one."""
    player_uuid: UUID | None = None
    game_name: str | None = None
    linked: frozenset[Provider] = field(default_factory=frozenset)
    named_as: str | None = None
    """How the reporter named the player (a mention, a Bungie name found in public data,
    a player id): all the reporter may be shown. What links add stays with moderators."""

    def reporter_label(self) -> str:
        """The player as the reporter may see them: never another member's links."""
        return self.named_as or self.label()

    @property
    def key(self) -> str:
        """One string per person, preferring the id most routes lead to."""
        if self.destiny_membership_id is not None:
            return f"bungie:{self.destiny_membership_id}"
        if self.player_uuid is not None:
            return f"game:{self.player_uuid}"
        return f"discord:{self.discord_id}"

    @property
    def destiny_ids(self) -> frozenset[int]:
        ids = set(self.other_destiny_membership_ids)
        if self.destiny_membership_id is not None:
            ids.add(self.destiny_membership_id)
        return frozenset(ids)

    def same_person(self, other: Identity) -> bool:
        return bool(
            (self.discord_id is not None and self.discord_id == other.discord_id)
            or (self.destiny_ids & other.destiny_ids)
            or (self.player_uuid is not None and self.player_uuid == other.player_uuid)
        )

    def label(self) -> str:
        """How the person is shown to members (safe to echo)."""
        parts: list[str] = []
        if self.bungie_name:
            parts.append(shown(self.bungie_name))
        if self.game_name and self.game_name != self.bungie_name:
            parts.append(shown(self.game_name))
        if self.player_uuid is not None and not self.game_name:
            parts.append(f"`{self.player_uuid}`")
        if self.discord_id is not None:
            parts.append(f"<@{self.discord_id}>")
        return " · ".join(parts) or "unknown player"


def identity_from_links(discord_id: int, links: Sequence[AccountLink]) -> Identity:
    """What a member's account links say about them (a broken link still tells who)."""
    ident = Identity(discord_id=discord_id)
    for link in links:
        if link.provider is Provider.BUNGIE:
            others = tuple(
                int(m["membership_id"])
                for m in link.details.get("memberships") or []
                if isinstance(m, dict) and str(m.get("membership_id", "")).isdigit()
                and int(m["membership_id"]) != link.destiny_membership_id
            )
            ident = replace(
                ident,
                destiny_membership_id=link.destiny_membership_id,
                destiny_membership_type=link.destiny_membership_type,
                other_destiny_membership_ids=others,
                bungie_name=link.display_name,
                linked=ident.linked | {Provider.BUNGIE},
            )
        elif link.provider is Provider.GAME:
            ident = replace(
                ident,
                player_uuid=_uuid_or_none(link.account_id),
                game_name=link.display_name,
                linked=ident.linked | {Provider.GAME},
            )
    return ident


def _uuid_or_none(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


class TargetResolver:
    """Turns what the member typed (or clicked) into an ``Identity``."""

    def __init__(self, *, links: LinkStore, bungie: BungieClient | None,
                 members: GuildMembers | None = None,
                 game: GamePlayers | None = None) -> None:
        self._links = links
        self._bungie = bungie
        self._members = members
        self._game = game

    async def member(self, discord_id: int) -> Identity:
        return identity_from_links(discord_id, await self._links.list_for(discord_id))

    async def resolve(
        self,
        *,
        reporter: Identity,
        text: str | None,
        member_id: int | None,
        pgcr: Pgcr | None,
        guild_id: int | None = None,
    ) -> Identity:
        """The target; refuses self-reports, unknown players and players not in ``pgcr``.

        A Discord member is attached only when they are in ``guild_id``'s server."""
        typed = (text or "").strip()
        if member_id is None and typed:
            member_id = parse_member(typed)
            if member_id is not None:
                typed = ""
                # A typed mention can name anyone Discord knows: only this server's
                # members are reported as members.
                if member_id != reporter.discord_id and not await self._in_guild(
                    guild_id, member_id
                ):
                    raise InvalidInput(
                        t('That member is not in this server. Report the player by Bungie '
                          'name (like `Guardian#1234`) or game player id instead.')
                    )
        if member_id is not None:
            if member_id == reporter.discord_id:
                raise NotAllowed(SELF_REPORT)
            target = await self._game_side_of(await self.member(member_id))
            if not target.linked:
                found = target
                if typed:  # the modal's "in-game name" field, for a member without links
                    target = await self._from_text(typed, pgcr, guild_id)
                    target = replace(target, discord_id=member_id,
                                     named_as=f"<@{member_id}> ({target.reporter_label()})")
                    if target.player_uuid is None and found.player_uuid is not None:
                        target = replace(target, player_uuid=found.player_uuid,
                                         game_name=found.game_name)
                elif found.player_uuid is not None:
                    # Known through the game backend's own Discord identity.
                    target = replace(target, named_as=f"<@{member_id}>")
                else:
                    raise InvalidInput(
                        t('<@{member_id}> has not linked a Bungie.net or game account with '
                          "Warden, so I can't tell who they are in game. Report them by "
                          'Bungie name (like `Guardian#1234`) or game player id instead.',
                          member_id=member_id)
                    )
            else:
                target = replace(target, named_as=f"<@{member_id}>")
        elif typed:
            target = await self._from_text(typed, pgcr, guild_id)
        else:
            raise InvalidInput(
                t('Say who you are reporting: a Bungie name like `Guardian#1234`, a game '
                  'player id, or a server member.')
            )
        if reporter.same_person(target):
            raise NotAllowed(SELF_REPORT)
        if pgcr is not None and target.destiny_ids:
            entry = _entry_for(pgcr, target)
            if entry is None:
                raise InvalidInput(
                    t('{reporter_label} did not play in activity `{activity_id}`. Check the '
                      'activity, or leave it out to report the player in general.',
                      reporter_label=target.reporter_label(), activity_id=pgcr.activity_id)
                )
            target = replace(
                target,
                destiny_membership_id=entry.membership_id,
                destiny_membership_type=entry.membership_type,
                character_id=entry.character_id,
                bungie_name=target.bungie_name or entry.bungie_name,
            )
        return target

    async def game_choices(self, typed: str) -> list[tuple[str, str]]:
        """(label, player uuid) for each game player with exactly this display name."""
        name = " ".join(typed.split())
        if self._game is None or not name or "#" in name or parse_uuid(name) is not None:
            return []
        found = await self._game.by_display_name(name)
        return [(t("{name} (game player {id}…)", name=name, id=str(p.player_uuid)[:8]),
                 str(p.player_uuid)) for p in found[:25]]

    async def _game_side_of(self, member: Identity) -> Identity:
        """A member without a game link: the player the studio linked to their Discord
        account, if the game backend knows one. A failed look-up changes nothing."""
        if self._game is None or member.discord_id is None or Provider.GAME in member.linked:
            return member
        try:
            found = await self._game.by_discord(member.discord_id)
        except ApiError as exc:
            log.info("game look-up of Discord user %s failed: %s", member.discord_id, exc)
            return member
        if found is None:
            return member
        return replace(member, player_uuid=found.player_uuid,
                       game_name=member.game_name or found.display_name)

    async def _from_text(self, typed: str, pgcr: Pgcr | None, guild_id: int | None) -> Identity:
        uuid = parse_uuid(typed)
        if uuid is not None:
            await self._check_game_player(uuid)
            return await self._enrich(Identity(player_uuid=uuid, named_as=f"`{uuid}`"),
                                      guild_id)
        found = await self._named_player(typed, pgcr)
        # The name comes from the activity, Bungie's own search or the game backend: public.
        return await self._enrich(replace(found, named_as=found.label()), guild_id)

    async def _check_game_player(self, uuid: UUID) -> None:
        """Refuse a uuid the game backend does not know, now rather than at delivery.
        If the backend cannot be asked, the report goes ahead unchecked."""
        if self._game is None:
            return
        try:
            known = await self._game.exists(uuid)
        except ApiError as exc:
            log.info("game look-up of player %s failed: %s", uuid, exc)
            return
        if not known:
            raise InvalidInput(
                t('No game player has the id `{uuid}`. Check it, or report them by in-game '
                  'name, Bungie name (like `Guardian#1234`) or as a server member.',
                  uuid=uuid)
            )

    async def _named_player(self, typed: str, pgcr: Pgcr | None) -> Identity:
        name: str
        code: int | None
        try:
            name, code = _parse_bungie_name(typed)
        except ValueError:
            if "#" in typed:
                raise InvalidInput(
                    t('{shown} is not a player I can look up. Use a Bungie name with its '
                      'number, like `Guardian#1234`, a game player id, or mention a server '
                      'member.',
                      shown=shown(typed))
                ) from None
            name, code = " ".join(typed.split()), None
        if pgcr is not None:
            # The activity's own list is authoritative and saves a search.
            entry = find_entry(pgcr, bungie_name=name, code=code)
            if entry is not None:
                return _from_entry(entry)
        if code is None:
            in_game = await self._game_player_named(name)
            if in_game is not None:
                return in_game
            if pgcr is not None and self._game is not None:
                raise InvalidInput(
                    t('No one called {shown} played in activity `{activity_id}` (or several '
                      'did), and no game player has that name: add their #number, like '
                      '`Guardian#1234`.', shown=shown(name), activity_id=pgcr.activity_id))
            if pgcr is not None:
                raise InvalidInput(
                    t('No one called {shown} played in activity `{activity_id}` (or several '
                      'did): add their #number, like `Guardian#1234`.',
                      shown=shown(name), activity_id=pgcr.activity_id))
            if self._game is not None:
                raise InvalidInput(
                    t('{shown} is not a player I can look up: no game player has that name. '
                      'Use a Bungie name with its number, like `Guardian#1234`, a game '
                      'player id, or mention a server member.', shown=shown(typed)))
            raise InvalidInput(
                t('{shown} is not a player I can look up. Use a Bungie name with its number, '
                  'like `Guardian#1234`, a game player id, or mention a server member.',
                  shown=shown(typed)))
        return await self._bungie_player(name, code)

    async def _game_player_named(self, name: str) -> Identity | None:
        """The one game player with this display name; None if there is none (or no game
        backend to ask); several are for the member to choose from."""
        if self._game is None:
            return None
        try:
            found = await self._game.by_display_name(name)
        except ApiError as exc:
            raise UserFacingError(
                t("The game backend is not answering, so I can't look up {shown}. Try again "
                  'in a few minutes, or use a Bungie name with its number. ({value})',
                  shown=shown(name), value=exc.code or exc.status or type(exc).__name__)
            ) from None
        if len(found) == 1:
            return Identity(player_uuid=found[0].player_uuid, game_name=name)
        if found:
            ids = ", ".join(f"`{p.player_uuid}`" for p in found[:CHOICES_SHOWN])
            raise InvalidInput(
                t('{len} game players are called {shown}. Pick the one you mean from the '
                  'player suggestions, or give their game player id: {ids}.',
                  len=len(found), shown=shown(name), ids=ids)
            )
        return None

    async def _bungie_player(self, name: str, code: int) -> Identity:
        if self._bungie is None:
            raise InvalidInput(
                t('This Warden is not connected to Bungie.net, so it cannot look up Bungie '
                  'names. Report the player by game player id instead.')
            )
        try:
            found = await self._bungie.search_player_by_bungie_name(name, code)
        except ApiError as exc:
            raise _bungie_unavailable(exc) from None
        membership = _playing_membership(found)
        if membership is None:
            raise InvalidInput(
                t('No Bungie.net player is called {shown}. Check the spelling and the number '
                  'after the #.',
                  shown=shown(f'{name}#{code:04d}'))
            )
        return _from_membership(membership, found)

    async def _in_guild(self, guild_id: int | None, user_id: int) -> bool:
        if self._members is None or guild_id is None:
            return False
        return await self._members.is_member(guild_id, user_id)

    async def _enrich(self, ident: Identity, guild_id: int | None) -> Identity:
        """Add what a linked member's other account says (a Bungie target's game id...).
        The member themself is attached only if they are in this server; either way the
        reporter is shown none of it (``named_as``)."""
        link: AccountLink | None = None
        if ident.player_uuid is not None:
            link = await self._links.find_by_account(Provider.GAME, str(ident.player_uuid))
        if link is None and ident.destiny_membership_id is not None:
            link = await self._links.find_by_destiny_membership(ident.destiny_membership_id)
        if link is None:
            return ident
        member = await self.member(link.discord_user_id)
        here = await self._in_guild(guild_id, link.discord_user_id)
        return Identity(
            discord_id=member.discord_id if here else None,
            destiny_membership_id=ident.destiny_membership_id or member.destiny_membership_id,
            destiny_membership_type=(
                ident.destiny_membership_type or member.destiny_membership_type
            ),
            other_destiny_membership_ids=member.other_destiny_membership_ids,
            bungie_name=ident.bungie_name or member.bungie_name,
            player_uuid=ident.player_uuid or member.player_uuid,
            game_name=ident.game_name or member.game_name,
            linked=member.linked,
            named_as=ident.named_as,
        )


def _entry_for(pgcr: Pgcr, ident: Identity) -> PgcrEntry | None:
    for membership_id in ([ident.destiny_membership_id] if ident.destiny_membership_id else []) + [
        m for m in ident.other_destiny_membership_ids
    ]:
        entry = find_entry(pgcr, membership_id=membership_id)
        if entry is not None:
            return entry
    return None


def reporter_entry(pgcr: Pgcr, reporter: Identity) -> PgcrEntry | None:
    return _entry_for(pgcr, reporter)


def _from_entry(entry: PgcrEntry) -> Identity:
    return Identity(
        destiny_membership_id=entry.membership_id,
        destiny_membership_type=entry.membership_type,
        bungie_name=entry.bungie_name,
        character_id=entry.character_id,
    )


def _playing_membership(found: Sequence[DestinyMembership]) -> DestinyMembership | None:
    """The membership that shows up in activities: not one cross-saved away."""
    for membership in found:
        if membership.cross_save_override in (0, membership.membership_type):
            return membership
    return found[0] if found else None


def _from_membership(chosen: DestinyMembership, found: Sequence[Any]) -> Identity:
    return Identity(
        destiny_membership_id=chosen.membership_id,
        destiny_membership_type=chosen.membership_type,
        other_destiny_membership_ids=tuple(
            m.membership_id for m in found if m.membership_id != chosen.membership_id
        ),
        bungie_name=chosen.bungie_name,
    )


def _bungie_unavailable(exc: ApiError) -> UserFacingError:
    return UserFacingError(
        t("Bungie.net is not answering right now, so I can't check the player. Try again in "
          'a few minutes. ({value})',
          value=exc.code or exc.status or type(exc).__name__)
    )
