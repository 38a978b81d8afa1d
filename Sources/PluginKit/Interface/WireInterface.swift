/// What a host's plugins accept over the wire, declared beside their catalogs: the events and
/// requests sessions and the global scope handle, by wire name, with their payload fields.
///
/// Operator tools (`sandboxctl plugins`) read it to show how to call `emit` and `request`
/// without reading Swift. A host learns it from declarations, never by running plugin code:
/// each entry names a Swift type, and ``WireSchema`` describes the type's fields.
///
/// ```swift
/// public static let interface = WireInterface([
///     .event(ThemeChanged.self, handledBy: ["editor"], "the theme the editor follows"),
///     .request(WordCountRequest.self, answeredBy: ["editor"], "words in `text`"),
/// ])
/// ```
public struct WireInterface: Sendable {
    /// One event or request.
    public struct Entry: Sendable, Equatable, Encodable {
        /// Whether it is emitted or requested.
        public enum Kind: String, Sendable, Codable { case event, request }
        /// Who handles it: the plugins inside each session, or the global plugins of the host.
        public enum Scope: String, Sendable, Codable { case session, global }

        /// Event or request.
        public var kind: Kind
        /// Its wire name (what `sandboxctl emit` and `request` take).
        public var name: String
        /// Where it is handled.
        public var scope: Scope
        /// The plugins that handle or answer it.
        public var plugins: [String]
        /// Its payload's fields.
        public var fields: [WireField]
        /// A request's answer type.
        public var response: WireType?
        /// What it does, in a sentence.
        public var summary: String

        /// An event of type `E`, handled by `plugins` in `scope`.
        public static func event<E: WireEvent>(_ type: E.Type, scope: Scope = .session, handledBy plugins: [PluginID], _ summary: String = "") -> Entry {
            Entry(kind: .event, name: E.wireName, scope: scope, plugins: plugins.map(\.rawValue), fields: WireSchema.fields(of: type),
                  response: nil, summary: summary)
        }

        /// A request of type `R`, answered by `plugins` in `scope`.
        public static func request<R: WireRequest>(_ type: R.Type, scope: Scope = .session, answeredBy plugins: [PluginID], _ summary: String = "") -> Entry {
            Entry(kind: .request, name: R.wireName, scope: scope, plugins: plugins.map(\.rawValue), fields: WireSchema.fields(of: type),
                  response: WireSchema.describe(R.Response.self), summary: summary)
        }

        private enum CodingKeys: String, CodingKey { case kind, name, scope, plugins, fields, response, summary }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(kind, forKey: .kind)
            try container.encode(name, forKey: .name)
            try container.encode(scope, forKey: .scope)
            try container.encode(plugins, forKey: .plugins)
            try container.encode(fields, forKey: .fields)
            try container.encodeIfPresent(response?.description, forKey: .response)
            try container.encode(summary, forKey: .summary)
        }
    }

    /// The entries, in declaration order.
    public var entries: [Entry]

    /// An interface of `entries`.
    public init(_ entries: [Entry] = []) {
        self.entries = entries
    }

    /// Both interfaces' entries; an entry of `right` with the same kind, scope and name as one of
    /// `left` adds its plugins to it.
    public static func + (left: WireInterface, right: WireInterface) -> WireInterface {
        var merged = left
        for entry in right.entries {
            if let index = merged.entries.firstIndex(where: { $0.kind == entry.kind && $0.scope == entry.scope && $0.name == entry.name }) {
                merged.entries[index].plugins += entry.plugins.filter { !merged.entries[index].plugins.contains($0) }
            } else {
                merged.entries.append(entry)
            }
        }
        return merged
    }
}
