/// Reads one frame body into a ``WireMessage``.
///
/// One validating pass over the body records where each known member's value lies (values
/// are validated whole, payloads included); then the message of the body's `kind` is built
/// from those spans, field by field in declaration order. So every syntax error in a body
/// is reported before any error about its meaning, and the first of each is the one reported.
enum MessageDecoder {
    static func decode(_ body: UnsafeRawBufferPointer) throws(WireError) -> WireMessage {
        guard body.count <= Int(Int32.max) else {
            throw WireError(code: .frameTooLong, reason: "a frame body this decoder reads holds at most \(Int32.max) bytes")
        }
        return try JSONScanner.scanning(body) { (scanner) throws(WireError) -> WireMessage in
            try FieldTable.withTable { (fields) throws(WireError) -> WireMessage in try decode(&scanner, fields) }
        }
    }

    private static func decode(_ scanner: inout JSONScanner, _ fields: FieldTable) throws(WireError) -> WireMessage {
        let end: Int
        do throws(WireError) {
            scanner.skipWhitespace()
            guard scanner.current == ASCII.openBrace else { throw notAnObject(scanner) }
            end = try scanner.readFields(into: fields)
            scanner.skipWhitespace()
            guard scanner.index == scanner.count else {
                throw WireError(code: .trailingData, offset: scanner.index, reason: "unexpected data after the JSON value")
            }
        } catch where error.code != .notAnObject {
            let kind = try? self.kind(fields, scanner: scanner, end: scanner.count)
            let field = JSONPathLocator.path(scanner.start, count: scanner.count, from: 0, to: error.offset ?? 0)
            throw error.located(subject: kind?.rawValue, field: field)
        }
        let kind = try self.kind(fields, scanner: scanner, end: end)
        return try message(kind, FieldReader(scanner: scanner, fields: fields, kind: kind, parent: nil, end: end))
    }

    /// A body that does not start with `{`: a non-object value, or not a JSON value at all.
    private static func notAnObject(_ scanner: JSONScanner) -> WireError {
        switch scanner.current {
        case ASCII.openBracket?, ASCII.quote?, ASCII.minus?, UInt8(ascii: "t")?, UInt8(ascii: "f")?, UInt8(ascii: "n")?:
            break
        case let byte? where ASCII.isDigit(byte):
            break
        default:
            return scanner.expected("a value")
        }
        return WireError(code: .notAnObject, offset: scanner.index,
                         reason: "a frame body must be a JSON object with a \"kind\" field")
    }

    private static func kind(_ fields: FieldTable, scanner: JSONScanner, end: Int) throws(WireError) -> WireMessage.Kind {
        guard let range = fields[.kind] else {
            throw WireError(code: .missingKind, offset: end, reason: "message has no \"kind\" field")
        }
        guard scanner.start[range.lowerBound] == ASCII.quote else {
            throw WireError(code: .wrongType, field: "kind", offset: range.lowerBound, reason: "must be a string")
        }
        let content = scanner.start + range.lowerBound + 1
        let count = range.count - 2
        if let kind = WireMessage.Kind.matching(content, count: count) { return kind }
        let text = try scanner.string(JSONString(start: range.lowerBound, end: range.upperBound, escaped: fields.isEscapedString(.kind)))
        if let kind = WireMessage.Kind(rawValue: text) { return kind }
        throw WireError(code: .unknownKind, field: "kind", offset: range.lowerBound,
                        reason: "unknown message kind \"\(Printable.truncated(text))\" (protocol version \(ProtocolVersion.current))")
    }

    private static func message(_ kind: WireMessage.Kind, _ fields: FieldReader) throws(WireError) -> WireMessage {
        switch kind {
        case .hello:
            return .hello(try hello(fields))
        case .welcome:
            return .welcome(Welcome(
                protocolVersion: try fields.integer(.protocolVersion), sessionID: try fields.string(.sessionID),
                settings: try fields.raw(.settings), globalPlugins: try fields.strings(.globalPlugins),
                maximumFrameLength: try fields.integer(.maximumFrameLength),
                heartbeatIntervalMilliseconds: try fields.integer(.heartbeatIntervalMilliseconds),
                maximumInFlight: try fields.integer(.maximumInFlight),
                unknownReferences: try fields.optionalString(.unknownReferences)))
        case .ready:
            return .ready(Ready(enabledPlugins: try fields.strings(.enabledPlugins), attachedPlugins: try fields.strings(.attachedPlugins)))
        case .emit:
            return .emit(Emit(
                id: try fields.integer(.id), scope: try fields.scope(.scope), event: try fields.string(.event),
                identifier: try fields.optionalString(.identifier), payload: try fields.raw(.payload)))
        case .emitResult:
            return .emitResult(EmitResult(
                id: try fields.integer(.id), handled: try fields.integer(.handled), stopped: try fields.bool(.stopped),
                payload: fields.optionalRaw(.payload), error: try fields.optionalObject(.error, failure)))
        case .request:
            return .request(Request(
                id: try fields.integer(.id), scope: try fields.scope(.scope), name: try fields.string(.name),
                identifier: try fields.optionalString(.identifier), payload: try fields.raw(.payload),
                optional: try fields.bool(.optional), timeoutMilliseconds: try fields.optionalInteger(.timeoutMilliseconds)))
        case .response:
            return .response(Response(
                id: try fields.integer(.id), payload: fields.optionalRaw(.payload), error: try fields.optionalObject(.error, failure)))
        case .cancel:
            return .cancel(Cancel(id: try fields.integer(.id)))
        case .settings:
            return .settings(SettingsUpdate(
                id: try fields.integer(.id), settings: try fields.raw(.settings), globalPlugins: try fields.strings(.globalPlugins)))
        case .settingsResult:
            return .settingsResult(SettingsResult(
                id: try fields.integer(.id), attached: try fields.strings(.attached), detached: try fields.strings(.detached),
                changed: try fields.strings(.changed), error: try fields.optionalObject(.error, failure)))
        case .ping:
            return .ping(Ping(id: try fields.integer(.id)))
        case .pong:
            return .pong(Pong(id: try fields.integer(.id), busy: try fields.optionalObject(.busy, busy)))
        case .log:
            return .log(LogRecord(level: try fields.string(.level), message: try fields.string(.message),
                                  metadata: try fields.stringMap(.metadata)))
        case .dispose:
            return .dispose(Dispose(reason: try fields.optionalString(.reason)))
        case .bye:
            return .bye(Bye(reason: try fields.string(.reason)))
        case .error:
            return .error(try failure(fields))
        }
    }

    /// A hello of another protocol version is read only as far as it can be, so the refusal
    /// can name both versions instead of a field the other version does not have.
    private static func hello(_ fields: FieldReader) throws(WireError) -> Hello {
        let version: Int = try fields.integer(.protocolVersion)
        guard version == ProtocolVersion.current else {
            return Hello(protocolVersion: version, pid: (try? fields.integer(.pid)) ?? 0, plugins: [],
                         build: (try? fields.string(.build)) ?? "")
        }
        return Hello(protocolVersion: version, pid: try fields.integer(.pid), plugins: try fields.strings(.plugins),
                     build: try fields.string(.build))
    }

    private static func failure(_ fields: FieldReader) throws(WireError) -> WireFailure {
        WireFailure(code: FailureCode(rawValue: try fields.string(.code)), message: try fields.string(.message),
                    details: try fields.optionalStringMap(.details))
    }

    private static func busy(_ fields: FieldReader) throws(WireError) -> BusyHandler {
        BusyHandler(event: try fields.string(.event), plugin: try fields.optionalString(.plugin),
                           sinceMilliseconds: try fields.integer(.sinceMilliseconds))
    }
}

extension WireMessage.Kind {
    /// The kind spelled by `count` bytes at `bytes`, if any (without escapes).
    static func matching(_ bytes: UnsafePointer<UInt8>, count: Int) -> WireMessage.Kind? {
        func test(_ kind: WireMessage.Kind, _ text: StaticString) -> WireMessage.Kind? {
            Bytes.equal(bytes, count: count, text) ? kind : nil
        }
        switch count {
        case 3: return test(.log, "log") ?? test(.bye, "bye")
        case 4: return test(.emit, "emit") ?? test(.ping, "ping") ?? test(.pong, "pong")
        case 5: return test(.hello, "hello") ?? test(.ready, "ready") ?? test(.error, "error")
        case 6: return test(.cancel, "cancel")
        case 7: return test(.welcome, "welcome") ?? test(.request, "request") ?? test(.dispose, "dispose")
        case 8: return test(.response, "response") ?? test(.settings, "settings")
        case 10: return test(.emitResult, "emitResult")
        case 14: return test(.settingsResult, "settingsResult")
        default: return nil
        }
    }
}
