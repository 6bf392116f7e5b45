"""`aggregator correct STORY_ID --note TEXT [--retract]`: a visible correction or withdrawal."""

from __future__ import annotations

import click

from aggregator.cli.common import State, UserError, handle_errors, pass_state


@click.command()
@click.argument("story_id")
@click.option("--note", required=True, help="What was wrong and what is right (shown on the page).")
@click.option("--retract", is_flag=True, help="Withdraw the card: the page keeps only the notice.")
@pass_state
@handle_errors
def correct(state: State, story_id: str, note: str, retract: bool) -> None:
    """Record a correction of a story's card (its public id), re-publish it and notify webhooks."""
    from aggregator.pipeline import run_stage
    from aggregator.revise.stage import CorrectionError, correct_story

    note = " ".join(note.split())
    if not note:
        raise UserError("correct: --note: give the text of the correction")
    ctx = state.context()
    try:
        with ctx.session() as session:
            revision = correct_story(ctx, session, story_id.strip(), note, retract)
    except CorrectionError as exc:
        raise UserError(str(exc)) from None
    verb = "withdrawn" if retract else "corrected"
    click.echo(f"correct: story {story_id} {verb} (revision {revision})")
    for stage in ("publish", "notify"):
        click.echo(run_stage(ctx, stage).summary())
