"""Tasks: calls, meetings, e-mails and to-dos with a due time, and their reminders."""
