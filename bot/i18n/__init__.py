"""Readers' languages: which the bot speaks, which one is active, and the words in it."""
