"""The leads `seed-demo` adds: some new, some worked, qualified or not, a share converted."""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.actor import SYSTEM
from app.leads import conversion
from app.leads import service as leads
from app.models.accounts import AccountSource
from app.models.auth import Role, User
from app.models.leads import LeadStatus

SOURCES = (
    (AccountSource.WEBSITE, 30),
    (AccountSource.REFERRAL, 15),
    (AccountSource.EMAIL_CAMPAIGN, 20),
    (AccountSource.SOCIAL_ADS, 15),
    (AccountSource.EVENT, 12),
    (AccountSource.MEDIA, 8),
)
# Where a lead ends up, with its weight; QUALIFIED ones are converted two times in three.
OUTCOMES = (
    (LeadStatus.NEW, 25),
    (LeadStatus.WORKING, 30),
    (LeadStatus.QUALIFIED, 30),
    (LeadStatus.UNQUALIFIED, 15),
)


async def seed_leads(
    session: AsyncSession, rng: random.Random, *, count: int, industries: tuple[str, ...]
) -> str:
    reps = list(await session.scalars(select(User.id).where(User.role == Role.REP)))
    converted = 0
    for n in range(count):
        source = rng.choices([s for s, _ in SOURCES], [w for _, w in SOURCES])[0]
        company = f"Prospect {n + 1} {rng.choice(('GmbH', 'AS', 'Ltd', 'Inc.', 'Farms'))}"
        lead = await leads.create_lead(
            session,
            actor=SYSTEM,
            company=company,
            contact_name=f"Contact {n + 1}",
            email=f"buyer{n + 1}@prospect{n + 1}.example",
            industry=rng.choice(industries),
            source=source,
            owner_id=rng.choice(reps) if reps else None,
        )
        outcome = rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
        if outcome is LeadStatus.NEW:
            continue
        await leads.set_lead_status(
            session, actor=SYSTEM, lead_id=lead.id, status=LeadStatus.WORKING
        )
        if outcome is LeadStatus.WORKING:
            continue
        reason = "No budget this year." if outcome is LeadStatus.UNQUALIFIED else None
        await leads.set_lead_status(
            session, actor=SYSTEM, lead_id=lead.id, status=outcome, reason=reason
        )
        if outcome is LeadStatus.QUALIFIED and rng.random() < 2 / 3:
            await conversion.convert_lead(session, actor=SYSTEM, lead_id=lead.id)
            converted += 1
    return f"{count} leads ({converted} converted)"
