"""Replay and backtest: any past period through the same window and detector logic as the live path."""
