// The PluginWire module; see DESIGN.md §2.
