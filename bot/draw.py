"""``xiaoan draw``: the random draw of schools and supervisors (双随机), and its check.

The seed is shown and stored with the candidate lists, so ``xiaoan draw
--verify ID`` (or anyone with the same lists) makes the same draw again.
"""

from __future__ import annotations

import argparse
import secrets

from bot.config import Config
from ledger.errors import ConfigError
from ledger.supervision import Draw, DrawRefused, verify_draw

# The bot's and the database's code is imported where a draw is made, not here:
# `xiaoan --help` builds this command's parser and must stay light.


def add_draw_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    draw = sub.add_parser("draw", help="draw schools and supervisors for unannounced visits")
    draw.add_argument("--schools", type=int, metavar="N", help="how many schools to draw")
    draw.add_argument(
        "--district", action="append", default=[], metavar="D", help="only this district (repeat)"
    )
    draw.add_argument(
        "--kind", action="append", default=[], metavar="K", help="only this kind of school (repeat)"
    )
    draw.add_argument(
        "--supervisors", type=int, default=2, metavar="M", help="supervisors per visit (2)"
    )
    draw.add_argument("--seed", metavar="S", help="the random seed (default: a new random one)")
    draw.add_argument("--verify", type=int, metavar="ID", help="re-run a stored draw and compare")


def describe(draw_id: int, made: Draw) -> str:
    """A draw as the command line prints it: seed, candidates, result."""
    names = {s.id: s.name for s in made.school_candidates}
    people = {s.id: s.name for s in made.supervisor_pool}
    lines = [
        f"draw {draw_id}: seed {made.seed}",
        f"candidates: {len(made.school_candidates)} school(s), "
        f"{len(made.supervisor_pool)} supervisor(s)",
    ]
    for visit in made.visits:
        who = ", ".join(people[p] for p in visit.supervisor_ids)
        lines.append(f"  {names[visit.school_id]} (school {visit.school_id}): {who}")
    return "\n".join(lines)


async def cmd_draw(config: Config, args: argparse.Namespace) -> tuple[int, str]:
    """Make a draw, or verify one; (exit code, output)."""
    from bot.cli import _services
    from cases import supervision as case
    from storage import supervision

    services = await _services(config)
    try:
        if args.verify is not None:
            stored = await supervision.draw_of(services.db, args.verify)
            if stored is None:
                raise ConfigError(f"no draw with id {args.verify}")
            if verify_draw(stored):
                return 0, describe(args.verify, stored) + "\nverified: the same result"
            return 1, describe(args.verify, stored) + "\nNOT verified: the result differs"
        if args.schools is None:
            raise ConfigError("draw needs --schools N (or --verify ID)")
        seed = args.seed or secrets.token_hex(8)
        asked = case.DrawAsked(
            services.campaign_id,
            seed,
            args.schools,
            args.supervisors,
            tuple(args.district),
            tuple(args.kind),
        )
        try:
            # The supervisors drawn are told by the bot's sending job.
            draw_id, made = await case.draw_by_operator(services.db, asked)
        except DrawRefused as refused:
            raise ConfigError(refusal(refused)) from None
        return 0, describe(draw_id, made)
    finally:
        await services.db.close()


def refusal(refused: DrawRefused) -> str:
    from texts import t

    return t("en", f"error.draw.{refused.params['reason']}", **refused.params)
