extension PluginRuntime {
    /// Reconciles the global scope and then every live session to `new`, transactionally.
    ///
    /// Every session is moved to `new`, including one created with its own settings. Session
    /// plugins' dependencies on global plugins are decided against the global plugins attached
    /// after the global step, so disabling a global plugin disables the session plugins that
    /// depend on it in the same update. If any scope fails, every scope goes back to where it
    /// was (the global scope first, then the sessions, each to its own previous settings), the
    /// stored settings stay the old ones, and the error is thrown. Then `new` is published.
    ///
    /// Updates are refused while another is running (``RuntimeError/updateInProgress``); one
    /// that is running when the runtime is disposed fails with ``RuntimeError/disposed``.
    @discardableResult
    public func updateSettings(_ new: RuntimeSettings) async throws -> [String: ReconcileReport] {
        try new.validate()
        let vetted = try vetting.vetPluginIDs(new, known: knownPlugins, entryPoint: "updateSettings")
        let (old, targets) = try enterUpdate()
        defer { leaveUpdate() }
        let oldGlobal = attachedPlugins
        var reports: [String: ReconcileReport] = [:]
        reports["global"] = try await engine.reconcile(to: vetted, external: [], entryPoint: "updateSettings")
        let newGlobal = attachedPlugins
        var reconciled: [Listed] = []
        do {
            for target in targets {
                reports[target.session.id.rawValue] = try await target.session.handle.reconcile(to: vetted, globalPlugins: newGlobal)
                reconciled.append(target)
            }
            try checkNotDisposed()
        } catch {
            logger.warning("settings update failed; rolling back", metadata: ["error": "\(error)"])
            if !isDisposed {
                _ = try? await engine.reconcile(to: old, external: [], entryPoint: "updateSettings")
                for target in reconciled.reversed() {
                    _ = try? await target.session.handle.reconcile(to: target.settings, globalPlugins: oldGlobal)
                }
            }
            throw error
        }
        let listeners = state.withLock { state -> [AsyncStream<RuntimeSettings>.Continuation] in
            state.settings = vetted
            for id in state.sessions.keys { state.sessions[id]?.settings = vetted }
            return Array(state.listeners.values)
        }
        for listener in listeners { listener.yield(vetted) }
        return reports
    }

    /// Reconciles only `session` to `settings`; refused while another update runs.
    func updateSessionSettings(_ session: PluginSession, to settings: RuntimeSettings) async throws -> ReconcileReport {
        try settings.validate()
        let vetted = try vetting.vetPluginIDs(settings, known: knownPlugins, entryPoint: "updateSessionSettings")
        _ = try enterUpdate()
        defer { leaveUpdate() }
        let report = try await session.handle.reconcile(to: vetted, globalPlugins: attachedPlugins)
        try checkNotDisposed()
        state.withLock { $0.sessions[session.id]?.settings = vetted }
        return report
    }

    /// Stores and publishes `new` without reconciling any scope; settings equal to the stored
    /// ones are not published again.
    /// - Throws: ``SettingsError``, or ``RuntimeError/disposed`` after ``dispose()``.
    public func updateSettingsSnapshot(_ new: RuntimeSettings) throws {
        try new.validate()
        let listeners = try state.withLock { state -> [AsyncStream<RuntimeSettings>.Continuation] in
            if case .disposed = state.phase { throw RuntimeError.disposed }
            guard state.settings != new else { return [] }
            state.settings = new
            return Array(state.listeners.values)
        }
        for listener in listeners { listener.yield(new) }
    }

    /// Every settings snapshot published from now on; finishes when the runtime is disposed.
    public var settingsUpdates: AsyncStream<RuntimeSettings> {
        let (stream, continuation) = AsyncStream<RuntimeSettings>.makeStream()
        let key = state.withLock { state -> Int? in
            if case .disposed = state.phase { return nil }
            state.nextListener += 1
            state.listeners[state.nextListener] = continuation
            return state.nextListener
        }
        guard let key else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.listeners.removeValue(forKey: key) }
        }
        return stream
    }

    var isDisposed: Bool {
        state.withLock { state in
            if case .disposed = state.phase { return true }
            return false
        }
    }

    /// Takes the update guard; returns the stored settings and the sessions (by id) with theirs.
    private func enterUpdate() throws -> (settings: RuntimeSettings, sessions: [Listed]) {
        try state.withLock { state in
            switch state.phase {
            case .updating: throw RuntimeError.updateInProgress
            case .disposed: throw RuntimeError.disposed
            case .running:
                state.phase = .updating
                return (state.settings, state.sessions.values.sorted { $0.session.id < $1.session.id })
            }
        }
    }

    private func leaveUpdate() {
        state.withLock { state in
            if case .updating = state.phase { state.phase = .running }
        }
    }

    private func checkNotDisposed() throws {
        if isDisposed { throw RuntimeError.disposed }
    }
}
