"""`accountflow seed-demo`: a believable data set so a newcomer sees something at once."""

from __future__ import annotations

import random

from app import db
from app.accounts import service as account_service
from app.auth import service as auth
from app.demo.history import seed_history
from app.demo.leads import seed_leads
from app.kit.actor import SYSTEM
from app.models.accounts import AccountSource, BuyingRole, Classification
from app.models.auth import Role

INDUSTRIES = ("Agriculture", "Construction", "Forestry", "Landscaping", "Municipal", "Mining")
COUNTRIES = ("DE", "AT", "CH", "NL", "FR", "DK", "PL")
CITIES = ("Nordhafen", "Lindenau", "Bergheim", "Altstadt", "Seewald", "Eichenried")
FIRST = ("Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hugo", "Ida", "Jonas")
LAST = ("Albers", "Brandt", "Classen", "Dietz", "Ebert", "Fuchs", "Graf", "Hahn", "Imhof")
SUFFIX = ("Farms", "Bau", "Agrar", "Landtechnik", "Forst", "Services", "Holding")


def _company(rng: random.Random) -> str:
    return f"{rng.choice(LAST)} {rng.choice(SUFFIX)} {rng.randint(1, 999)}"


async def seed_demo(url: str, *, accounts: int = 300, seed: int = 7) -> str:
    rng = random.Random(seed)
    engine = db.create_engine(url)
    try:
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            people = [
                ("admin", Role.ADMIN),
                ("manager.north", Role.MANAGER),
                ("manager.south", Role.MANAGER),
                *[(f"rep{i}", Role.REP) for i in range(1, 7)],
                ("erp", Role.INTEGRATION),
            ]
            for handle, role in people:
                email = f"{handle}@demo.accountflow.io"
                if await auth.find_user_by_email(session, email) is None:
                    name = handle.replace(".", " ").title()
                    await auth.create_user(session, actor=SYSTEM, email=email, name=name, role=role)
            parents: list[int] = []
            account_ids: list[int] = []
            contacts = 0
            for n in range(accounts):
                parent_id = rng.choice(parents) if parents and rng.random() < 0.2 else None
                account = await account_service.create_account(
                    session,
                    actor=SYSTEM,
                    name=_company(rng),
                    classification=rng.choice(tuple(Classification)),
                    industry=rng.choice(INDUSTRIES),
                    source=rng.choice(tuple(AccountSource)),
                    city=rng.choice(CITIES),
                    country_code=rng.choice(COUNTRIES),
                    external_ref=f"DEMO-{seed}-{n}",
                    parent_id=parent_id,
                )
                account_ids.append(account.id)
                if parent_id is None:
                    parents.append(account.id)
                for _ in range(rng.randint(1, 4)):
                    await account_service.add_contact(
                        session,
                        actor=SYSTEM,
                        account_id=account.id,
                        name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                        buying_role=rng.choice((*BuyingRole, None)),
                    )
                    contacts += 1
            history = await seed_history(session, rng, account_ids)
            history += ", " + await seed_leads(
                session, rng, count=max(10, accounts // 5), industries=INDUSTRIES
            )
    finally:
        await engine.dispose()
    return f"seeded {len(people)} users, {accounts} accounts, {contacts} contacts, {history}"
