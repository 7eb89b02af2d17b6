"""Month-end insight over the aging: expected recovery, bad-debt provisions.

Pure computations over open items (``ledger.OpenItem``) and the aging spec; they know no
store, terminal or config. The commands read the book and the config and hand them in.
"""
