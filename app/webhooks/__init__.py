"""Webhooks: subscriptions, Standard Webhooks signatures, delivery from the outbox with retries.

Imports models, kit and events.
"""
