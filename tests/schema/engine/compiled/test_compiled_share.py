"""The compiled path really answers: most valid staff queries, and the hot contract reads.

Agreement alone would pass with the compiler switched off; this test fails unless the app
with compiled reads on says (header `x-accountflow-executor: compiled`) that it answered
them in one SQL statement.
"""

from __future__ import annotations

from app.models.auth import Role
from tests.schema.engine.compiled.contract import contract_asks
from tests.schema.engine.compiled.documents import Case, sample
from tests.schema.engine.compiled.pair import EXECUTOR, STAFF, TALLIES, Ask, Pair, Tally

SAMPLE = 400
SHARE = 0.70
HOT = ("AccountList", "AccountDetail", "Viewer")

share = TALLIES.setdefault("compiled share sample", Tally())


def _ask(case: Case) -> Ask:
    return Ask(case.document, case.variables, case.role, case.operation_name, case.get)


async def test_most_valid_staff_queries_are_compiled(pair: Pair) -> None:
    staff = [c for c in sample(pair.world, SAMPLE) if c.covered and c.role in STAFF]
    fallen: list[Ask] = []
    for case in staff:
        ask = _ask(case)
        answer = (await pair.ask(ask))[0]
        share.add(ask, answer)
        if share.valid_staff > len(fallen) + share.valid_staff_compiled:
            fallen.append(ask)
    assert share.valid_staff > SAMPLE // 4, share.summary()
    compiled = share.valid_staff_compiled / share.valid_staff
    examples = "\n\n".join(ask.describe() for ask in fallen[:3])
    hint = ""
    if set(share.executors) == {"none"}:
        hint = f"no response carried the {EXECUTOR} header: is the compiled path in place?\n"
    assert compiled >= SHARE, (
        f"the compiled path answered {share.valid_staff_compiled} of {share.valid_staff} "
        f"valid staff queries ({compiled:.0%}); at least {SHARE:.0%} must be compiled.\n"
        f"{hint}{share.summary()}\nsome that strawberry answered:\n{examples}"
    )


async def test_hot_contract_reads_are_compiled_for_admin(pair: Pair) -> None:
    answered: dict[str, set[str | None]] = {}
    for name in HOT:
        for ask in contract_asks(pair.world, name):
            if ask.role is Role.ADMIN:
                answer = (await pair.ask(ask))[0]
                if answer.status == 200 and not answer.has_errors:
                    answered.setdefault(name, set()).add(answer.executor)
    assert answered == {name: {"compiled"} for name in HOT}, (
        f"executor header per contract read (ADMIN, valid variables): {answered}; "
        "all must be answered by the compiled path"
    )
