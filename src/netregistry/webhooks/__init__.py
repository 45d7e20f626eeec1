"""Webhooks: the change feed delivered to partners' URLs, signed (Standard Webhooks)."""
