"""Teams and the company's record visibility: which accounts a REP reads."""
