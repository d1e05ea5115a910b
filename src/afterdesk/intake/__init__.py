"""Intake: every way a case comes in (e-mail in and out, signed webhooks, acknowledgements)."""
