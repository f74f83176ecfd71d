"""The staff's weekly digest (issue 22): what to order, open special orders, holds ending
soon and messages that failed, sent once a period (DIGEST_AT) and shown by /digest."""
