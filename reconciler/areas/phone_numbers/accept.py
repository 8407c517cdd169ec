"""``drift --accept`` for phone numbers, pools and sender IDs: their live attributes (opt-out list,
international sending, deletion protection, …) written onto their entries in the policy files
(the generic editor: reconciler/config/edit.py)."""

from __future__ import annotations

from reconciler.config.edit import UNSUPPORTED, DriftAcceptor
from reconciler.plan import Change


class PhoneNumbersAcceptor(DriftAcceptor):
    def fold(self, target: str, change: Change) -> None:
        # Keys: phone_numbers/number/REF, phone_numbers/pool/REF, phone_numbers/sender-id/SENDER/COUNTRY.
        parts = change.key.split("/")
        if len(parts) < 3 or not isinstance(change.before, dict):
            self.edit.skip(change, UNSUPPORTED)  # e.g. a missing identity, a number rejoining its pool
            return
        kind, ref = parts[1], "/".join(parts[2:])
        if kind == "number":
            found = self.edit.find_by("phone_numbers", "phone_number", ref, target)
        elif kind == "pool":
            found = self.edit.find_by("pools", "pool", ref, target)
        elif kind == "sender-id" and "/" in ref:
            sender, country = ref.rsplit("/", 1)
            found = self.edit.find(
                "sender_ids", target, lambda e: str(e.get("sender_id")) == sender and str(e.get("country")) == country
            )
        else:
            found = None
        self.edit.set_attributes(change, found, dict(change.before))
