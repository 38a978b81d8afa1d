// The PluginKit module; see DESIGN.md §2.
