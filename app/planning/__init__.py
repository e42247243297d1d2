"""Account plans (goals, actions, white space), revenue figures, forecasts, churn, ABC
suggestions.

Imports models, kit, events and handoff (an active plan is a gate fact).
"""
