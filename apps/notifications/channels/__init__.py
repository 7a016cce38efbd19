"""Delivery channels. Each sends one batch of claimed deliveries over one connection."""
