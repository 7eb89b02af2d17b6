"""The documents' colours, shared by the page furniture, the story and its tables."""

from reportlab.lib import colors

INK = colors.HexColor("#1f2a37")
MUTED = colors.HexColor("#6b7280")
ACCENT = colors.HexColor("#1d4e89")
RULE = colors.HexColor("#c9d1dc")
ZEBRA = colors.HexColor("#f3f5f8")
DISPUTED = colors.HexColor("#fff4e0")
DUE_SOON = colors.HexColor("#e0a030")
OVERDUE = colors.HexColor("#c0392b")
CREDIT = colors.HexColor("#2e7d4f")  # a balance in the customer's favour
