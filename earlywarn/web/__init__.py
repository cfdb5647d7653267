"""``earlywarn serve``: the small web app advisors reach from their digest's signed links."""
