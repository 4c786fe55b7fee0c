#!/usr/bin/env python3
"""A top-level X window by its title, for the desktop test: print its map state, or unmap
it (hide it as a minimized or withdrawn window is hidden). libX11 through ctypes, so
nothing beyond Python and the X library WebKitGTK already needs.

    DISPLAY=:N python3 xwindow.py state|unmap TITLE
"""
import ctypes
import ctypes.util
import sys

STATES = {0: "unmapped", 1: "unviewable", 2: "viewable"}


class XWindowAttributes(ctypes.Structure):
    _fields_ = [
        ("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int), ("height", ctypes.c_int),
        ("border_width", ctypes.c_int), ("depth", ctypes.c_int), ("visual", ctypes.c_void_p),
        ("root", ctypes.c_ulong), ("c_class", ctypes.c_int), ("bit_gravity", ctypes.c_int),
        ("win_gravity", ctypes.c_int), ("backing_store", ctypes.c_int), ("backing_planes", ctypes.c_ulong),
        ("backing_pixel", ctypes.c_ulong), ("save_under", ctypes.c_int), ("colormap", ctypes.c_ulong),
        ("map_installed", ctypes.c_int), ("map_state", ctypes.c_int), ("all_event_masks", ctypes.c_long),
        ("your_event_mask", ctypes.c_long), ("do_not_propagate_mask", ctypes.c_long),
        ("override_redirect", ctypes.c_int), ("screen", ctypes.c_void_p),
    ]


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("state", "unmap"):
        sys.exit("usage: xwindow.py state|unmap TITLE")
    action, title = sys.argv[1], sys.argv[2]
    x = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    x.XOpenDisplay.restype = ctypes.c_void_p
    x.XDefaultRootWindow.restype = ctypes.c_ulong
    x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    d = x.XOpenDisplay(None)
    if not d:
        sys.exit("cannot open the display")
    dp = ctypes.c_void_p(d)

    def children(w):
        root, parent = ctypes.c_ulong(), ctypes.c_ulong()
        kids, n = ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_uint()
        if not x.XQueryTree(dp, ctypes.c_ulong(w), ctypes.byref(root), ctypes.byref(parent), ctypes.byref(kids), ctypes.byref(n)):
            return []
        return [kids[i] for i in range(n.value)]

    def name(w):
        s = ctypes.c_char_p()
        if x.XFetchName(dp, ctypes.c_ulong(w), ctypes.byref(s)) and s.value:
            return s.value.decode("utf-8", "replace")
        return None

    stack, found = [x.XDefaultRootWindow(dp)], None
    while stack and found is None:
        w = stack.pop()
        if name(w) == title:
            found = w
        else:
            stack.extend(children(w))
    if found is None:
        sys.exit(f"no window titled {title!r}")
    if action == "unmap":
        x.XUnmapWindow(dp, ctypes.c_ulong(found))
        x.XSync(dp, 0)
    attrs = XWindowAttributes()
    x.XGetWindowAttributes(dp, ctypes.c_ulong(found), ctypes.byref(attrs))
    print(STATES.get(attrs.map_state, str(attrs.map_state)))


if __name__ == "__main__":
    main()
