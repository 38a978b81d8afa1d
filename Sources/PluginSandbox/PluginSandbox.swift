// The PluginSandbox module; see DESIGN.md §2.
