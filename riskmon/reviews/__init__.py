"""Manual reviews: a reviewer's verdict on ``credit.reviews`` becomes a ``manual`` decision."""
