import ArgumentParser
import Foundation
import PluginKit
import PluginSandbox
import PluginWire

/// File arguments are read by the client, never by the supervisor: `--profile ./p.json`,
/// `--settings FILE`, `--payload @FILE`; `-` and `@-` read standard input. What reaches the
/// supervisor is the contents, so a relative path means the client's directory.
enum FileArgument {
    /// The bytes of `path` (`-`: standard input); the error names `option`.
    static func read(_ path: String, for option: String) throws -> Data {
        if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw ValidationError("\(option) \(path): the file \(reason) (relative to \(FileManager.default.currentDirectoryPath))")
        }
        return data
    }

    /// A JSON payload: inline JSON, `@FILE`, or `@-` for standard input; errors name `option`.
    static func payload(_ text: String?, for option: String = "--payload") throws -> JSONValue {
        guard let text else { return .object([:]) }
        let data = text.hasPrefix("@") ? try read(String(text.dropFirst()), for: option) : Data(text.utf8)
        do {
            return try JSONValue(jsonData: data)
        } catch {
            throw ValidationError("\(option) is not valid JSON: \(error)")
        }
    }

    /// A `RuntimeSettings` file, validated here; the error names `option`, the file, the key and the value.
    static func settings(_ path: String, for option: String) throws -> (document: JSONValue, settings: RuntimeSettings) {
        let data = try read(path, for: option)
        let document: JSONValue
        do {
            document = try JSONValue(jsonData: data)
        } catch {
            throw SettingsFileError(message: "\(option) \(path): not valid JSON: \(error)")
        }
        do {
            let decoder = JSONDecoder()
            let settings = try decoder.decode(RuntimeSettings.self, from: data)
            try settings.validate()
            return (document, settings)
        } catch let error as DecodingError {
            throw SettingsFileError(message: "\(option) \(path): \(describe(error))")
        } catch {
            throw SettingsFileError(message: "\(option) \(path): \(error)")
        }
    }

    /// Whether a `--profile` value names a file rather than a catalog profile.
    static func isProfileFile(_ value: String) -> Bool {
        value == "-" || value.contains("/") || value.hasSuffix(".json")
    }

    /// A profile file, validated here; the error names `option`, the file and the key at fault.
    static func profile(_ path: String, for option: String) throws -> (document: JSONValue, profile: SandboxProfile) {
        let data = try read(path, for: option)
        do {
            let profile = try SandboxProfile.decode(data)
            return (try JSONValue(jsonData: data), profile)
        } catch {
            throw SettingsFileError(message: "\(option) \(path): \(error)")
        }
    }

    /// A decoding error as a sentence naming the key path.
    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "the document" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .typeMismatch(let type, let context): return "\(path(context.codingPath)): expected \(describe(type))"
        case .valueNotFound(let type, let context): return "\(path(context.codingPath)): expected \(describe(type)), found null"
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])): missing"
        case .dataCorrupted(let context): return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        case is Int.Type, is Double.Type: return "a number"
        default: return type is any Collection.Type ? "a list or an object" : "\(type)"
        }
    }
}

/// A file argument whose contents are wrong (exit code 1, not a usage error).
struct SettingsFileError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
