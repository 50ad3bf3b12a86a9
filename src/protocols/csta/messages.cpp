// Names and classes of the message types (from the one list in message_info.hpp).
#include "protocols/csta/messages.hpp"

#include <type_traits>

#include "protocols/csta/message_info.hpp"

namespace callbridge::protocols::csta {

namespace {
// Every alternative but UnknownService is in the list exactly once.
#define CALLBRIDGE_CSTA_COUNT(T, N, C) +1
constexpr std::size_t kListed = 0 CALLBRIDGE_CSTA_MESSAGES(CALLBRIDGE_CSTA_COUNT);
#undef CALLBRIDGE_CSTA_COUNT
static_assert(kListed + 1 == std::variant_size_v<Message>, "message_info.hpp lists every Message type");

template <typename T, typename V>
struct VariantIndex;
template <typename T, typename... Ts>
struct VariantIndex<T, std::variant<Ts...>> {
  static constexpr std::size_t value = [] {
    std::size_t i = 0;
    (void)((std::is_same_v<T, Ts> ? false : (++i, true)) && ...);
    return i;
  }();
};

// The EventKind order is the order of the events in the Message variant.
constexpr std::size_t kFirstEvent = VariantIndex<ServiceInitiatedEvent, Message>::value;
static_assert(VariantIndex<DoNotDisturbEvent, Message>::value - kFirstEvent + 1 == kEventKindCount);
static_assert(VariantIndex<DeliveredEvent, Message>::value - kFirstEvent ==
              static_cast<std::size_t>(EventKind::delivered));
}  // namespace

std::string_view root_name(const Message& m) {
  return std::visit(
      [](const auto& v) -> std::string_view {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, UnknownService>) {
          return v.name;
        } else {
          return detail::MessageInfo<T>::name;
        }
      },
      m);
}

MessageClass message_class(const Message& m) {
  return std::visit(
      [](const auto& v) -> MessageClass {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, UnknownService>) {
          return MessageClass::unknown;
        } else {
          return detail::MessageInfo<T>::cls;
        }
      },
      m);
}

std::optional<EventKind> event_kind(const Message& m) {
  if (message_class(m) != MessageClass::event) return std::nullopt;
  return static_cast<EventKind>(m.index() - kFirstEvent);
}

}  // namespace callbridge::protocols::csta
