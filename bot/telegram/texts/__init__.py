"""Every text the bot shows a person in a chat, as HTML with user data escaped: one module
per conversation (commands, language, catalog, reservations, cards, holds, staff, deliveries,
demand), the helpers they share in formatting, and in refusals the one table that turns a
refused request into words. Callers import the module they need."""
