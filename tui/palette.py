"""Textual's command palette, with PageUp / PageDown safe before its list has a size.

Textual 8.2 bug: `OptionList._move_page` looks the highlighted option up in a line cache that
stays empty until the list has been laid out with a nonzero size. `ctrl+p` followed at once by
PageUp or PageDown (the commands arrived, the list not yet laid out), or either key on a
terminal too short to show the list, raised `KeyError: 0` and ended the app.
"""

from __future__ import annotations

from textual.command import CommandList, CommandPalette

PAGE_ACTIONS = ("page_up", "page_down")


class Palette(CommandPalette):
    def _action_command_list(self, action: str, retry: bool = True) -> None:
        if action in PAGE_ACTIONS and not self.query_one(CommandList).scrollable_content_region:
            # Not laid out yet: page once it is; still no room then (a tiny terminal): no
            # page to move by, so the key does nothing.
            if retry:
                self.call_after_refresh(self._action_command_list, action, False)
            return
        super()._action_command_list(action)
