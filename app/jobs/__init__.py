"""Scheduled work kept in the database (escalations, reminders, post-action verification)."""
