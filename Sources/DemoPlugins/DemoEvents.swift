import PluginKit

/// Broadcast by the theme service to every session when the theme changes.
public struct ThemeChanged: WireEvent, Equatable {
    public var theme: String
    public init(theme: String) { self.theme = theme }
}

/// Sent by a session to the global scope when it opens its document; the audit plugin numbers it.
public struct DocumentOpened: WireEvent, Equatable {
    public var session: String
    public var title: String
    public var auditNumber: Int?
    public init(session: String, title: String, auditNumber: Int? = nil) {
        self.session = session
        self.title = title
        self.auditNumber = auditNumber
    }
}

/// Asks a session for the word count of its document.
public struct WordCountRequest: WireRequest, Equatable {
    public typealias Response = Int
    public var text: String?
    public init(text: String? = nil) { self.text = text }
}

/// Asks a session which theme it has seen last.
public struct CurrentThemeRequest: WireRequest, Equatable {
    public typealias Response = String
    public init() {}
}

/// Asks a session which number the global audit plugin gave its document.
public struct AuditNumberRequest: WireRequest, Equatable {
    public typealias Response = Int
    public init() {}
}
