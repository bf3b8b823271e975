"""The Lua scripts behind every state transition (data only: run them through
:mod:`minirq.store`). Each ``.lua`` file starts with a comment listing its KEYS and ARGV;
``lib_*.lua`` files are libraries included by ``-- @include lib_name``."""
