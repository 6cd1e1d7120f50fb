"""Notifications the jobs feature sends to features above it (blinker, as Flask does).

Jobs never imports those features; they subscribe here. A receiver that refuses raises, and the
exception reaches the caller of the service that sent the signal.
"""

from blinker import Namespace

_signals = Namespace()

#: Sent by ``sign_step`` for each serial input of a signed step:
#: ``serials_signed.send(job, step=..., serial_input=..., serials=[...], record=..., user=...)``.
serials_signed = _signals.signal("serials-signed")

#: Sent by the intake form to learn which kits a new job may take:
#: ``kits_offered.send(app)`` → each receiver returns ``{kit id: KitSpec}``.
kits_offered = _signals.signal("kits-offered")
