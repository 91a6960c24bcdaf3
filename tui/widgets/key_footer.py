"""The Footer: as many of the screen's keys as fit its width, each one whole.

Textual's Footer puts every shown key on its one row and scrolls what does not fit out of
sight: at 80 columns the explorer's keys were cut mid-word (`[ Slower ] Fa`), the last ones
(`s`, `w`, `q`) could not be seen at all, and a stray letter showed beside the palette key.
`KeyFooter` shows the keys in the order the screen declares them and stops at the first one
that does not fit whole, so a screen lists its essential keys first; the palette key (ctrl+p,
which lists every command) always shows, on the right. Wider terminals show more keys. In a
browser (`wdtui serve`), which keeps ctrl+p for printing, the palette key shows as `:`, the
app's other key for it.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# The compact Footer's geometry (Textual's DEFAULT_CSS for Footer.-compact and FooterKey):
# a key, then a space and its description, then a one-column margin; the palette key, docked
# right, also has a one-column border on its left.
KEY_MARGIN = 1
PALETTE_BORDER = 1
WEB_PALETTE_KEY = ":"  # tui/app.py binds it to the palette too


def key_width(key_display: str, description: str) -> int:
    """The columns one key takes in the compact Footer, its margin included."""
    label = cell_len(key_display) + (1 + cell_len(description) if description else 0)
    return label + KEY_MARGIN


def declared_order(active: ActiveBinding) -> int:
    """A key's place in its node's BINDINGS. Textual merges a class's bindings with its
    bases' in the bases' order (Screen's tab first), whatever the class declares."""
    declared = getattr(type(active.node), "BINDINGS", [])
    actions = [b.action if isinstance(b, Binding) else b[1] for b in declared]
    action = active.binding.action
    return actions.index(action) if action in actions else len(actions)


class KeyFooter(Footer):
    """A compact Footer that shows the screen's keys that fit, in their declared order."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(compact=True, id=id)
        self._composed_width = 0

    def _room(self) -> int:
        # The Footer spans its screen; before the first layout its own size is still 0.
        return self.size.width or self.screen.size.width or self.app.size.width

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self._composed_width = room = self._room()
        active = self.screen.active_bindings
        palette = self._palette_key()
        if palette is not None:
            room -= key_width(palette.key_display, palette.description) + PALETTE_BORDER
        shown: set[str] = set()
        for _node, binding, enabled, tooltip in sorted(active.values(), key=declared_order):
            # One key per action (`+` and `=` both raise λ: the first is shown).
            if not binding.show or binding.action in shown:
                continue
            shown.add(binding.action)
            key_display = self.app.get_key_display(binding)
            width = key_width(key_display, binding.description)
            if width > room:
                break  # the rest are for wider terminals (and the palette, and the help)
            room -= width
            yield FooterKey(
                binding.key,
                key_display,
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip or binding.description,
            ).data_bind(compact=Footer.compact)
        if palette is not None:
            yield palette

    def _palette_key(self) -> FooterKey | None:
        app = self.app
        if not (self.show_command_palette and app.ENABLE_COMMAND_PALETTE):
            return None
        active = self.screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
        if active is None:
            return None
        binding: Binding = active.binding
        # A click still presses ctrl+p (simulated: no browser sees it), which opens the
        # palette even while a field has focus, where `:` would be typed.
        key_display = WEB_PALETTE_KEY if app.is_web else app.get_key_display(binding)
        return FooterKey(
            binding.key,
            key_display,
            binding.description,
            binding.action,
            classes="-command-palette",
            disabled=not active.enabled,
            tooltip=binding.tooltip or binding.description,
        )

    def on_resize(self, event: events.Resize) -> None:
        # Another width fits another number of keys.
        if event.size.width != self._composed_width and self._bindings_ready:
            self.call_after_refresh(self.recompose)


__all__ = ["KeyFooter", "key_width"]
