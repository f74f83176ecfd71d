"""Readers' special orders (issue 22): books the shop does not stock, asked for by ISBN or
by title and author, ordered or declined by staff."""
