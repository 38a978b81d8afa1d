import DequeModule
import Synchronization

/// One handler, responder or observer in a cascade, with the flag that cancelling it clears.
///
/// The flag is atomic so that a running cascade checks it without taking the bus's lock.
final class Subscriber<Body: Sendable>: Sendable {
    let id: UInt64
    let priority: Priority
    let identifier: String?
    let body: Body
    private let live = Atomic<Bool>(true)

    init(id: UInt64, priority: Priority, identifier: String?, body: Body) {
        self.id = id
        self.priority = priority
        self.identifier = identifier
        self.body = body
    }

    /// Whether the subscription is still in force.
    var isLive: Bool { live.load(ordering: .acquiring) }

    /// Takes the subscriber out of every cascade, including one that is running.
    func retire() { live.store(false, ordering: .releasing) }
}

/// The subscribers of one event or request type in dispatch order: descending priority, and
/// registration order among equal priorities.
///
/// The bus instantiates it only with its erased body types, never with a type that depends on
/// an event type, so the emit path finds its metadata without a runtime generic lookup.
///
/// General subscribers and each identifier's subscribers are kept apart and merged for an
/// emit with an identifier; at equal priority a general subscriber runs before a scoped one.
/// Insertion is a binary search into a deque, so registering in ascending or descending
/// priority costs O(log n) per subscriber; merged orders are cached until the next change.
struct Cascade<Body: Sendable> {
    typealias Order = Deque<Subscriber<Body>>

    private var general: Order = []
    private var scoped: [String: Order] = [:]
    private var merged: [String: Order] = [:]

    /// Whether nobody is subscribed.
    var isEmpty: Bool { general.isEmpty && scoped.isEmpty }

    mutating func insert(_ subscriber: Subscriber<Body>) {
        if let identifier = subscriber.identifier {
            Self.insert(subscriber, into: &scoped[identifier, default: []])
            merged[identifier] = nil
        } else {
            Self.insert(subscriber, into: &general)
            merged.removeAll(keepingCapacity: true)
        }
    }

    mutating func remove(_ subscriber: Subscriber<Body>) {
        if let identifier = subscriber.identifier {
            guard var list = scoped.removeValue(forKey: identifier) else { return }
            Self.remove(subscriber, from: &list)
            if !list.isEmpty { scoped[identifier] = list }
            merged[identifier] = nil
        } else {
            Self.remove(subscriber, from: &general)
            merged.removeAll(keepingCapacity: true)
        }
    }

    /// Every subscriber, for disposal.
    var all: [Subscriber<Body>] { Array(general) + scoped.values.flatMap { $0 } }

    /// The subscribers an emit with `identifier` reaches, in dispatch order: the general ones,
    /// plus those of exactly `identifier`.
    mutating func order(for identifier: String?) -> Order {
        guard let identifier, let own = scoped[identifier] else { return general }
        if general.isEmpty { return own }
        if let cached = merged[identifier] { return cached }
        var result = Order()
        result.reserveCapacity(general.count + own.count)
        var generalIndex = general.startIndex
        var ownIndex = own.startIndex
        while generalIndex < general.endIndex, ownIndex < own.endIndex {
            if general[generalIndex].priority >= own[ownIndex].priority {
                result.append(general[generalIndex])
                generalIndex += 1
            } else {
                result.append(own[ownIndex])
                ownIndex += 1
            }
        }
        result.append(contentsOf: general[generalIndex...])
        result.append(contentsOf: own[ownIndex...])
        merged[identifier] = result
        return result
    }

    /// The first index whose priority is below `priority`: a new subscriber goes there, after
    /// every subscriber of equal priority.
    private static func insertionIndex(for priority: Priority, in list: Order) -> Int {
        var low = 0
        var high = list.count
        while low < high {
            let middle = (low + high) / 2
            if list[middle].priority >= priority { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private static func insert(_ subscriber: Subscriber<Body>, into list: inout Order) {
        let index = insertionIndex(for: subscriber.priority, in: list)
        if index == list.count {
            list.append(subscriber)
        } else if index == 0 {
            list.prepend(subscriber)
        } else {
            list.insert(subscriber, at: index)
        }
    }

    private static func remove(_ subscriber: Subscriber<Body>, from list: inout Order) {
        // Equal priorities sit together just before the insertion index of that priority.
        var index = insertionIndex(for: subscriber.priority, in: list) - 1
        while index >= 0, list[index].priority == subscriber.priority {
            if list[index] === subscriber {
                list.remove(at: index)
                return
            }
            index -= 1
        }
    }
}
