"""From loose input to a clean Document: decoding, cleaning, personal data, tickers, duplicates. Pure."""
