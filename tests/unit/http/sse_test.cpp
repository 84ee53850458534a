#include "http/sse.h"

#include <gtest/gtest.h>

namespace pvekit::http {
namespace {

TEST(SseTest, AnEventHasItsNameIdAndOneDataLinePerLine) {
  EXPECT_EQ(sse_event("migration", "{\"vmid\":100}", "7"), "event: migration\nid: 7\ndata: {\"vmid\":100}\n\n");
  EXPECT_EQ(sse_event("", "x"), "data: x\n\n");
  EXPECT_EQ(sse_event("e", ""), "event: e\ndata: \n\n");
}

TEST(SseTest, LineBreaksInDataCannotEndTheEventOrAddAField) {
  EXPECT_EQ(sse_event("e", "a\n\nevent: evil\r\nb\rc"), "event: e\ndata: a\ndata: \ndata: event: evil\ndata: b\ndata: c\n\n");
}

TEST(SseTest, LineBreaksInTheNameAndIdAreDropped) {
  EXPECT_EQ(sse_event("a\r\ndata: injected", "x", "1\n\nretry: 1"), "event: adata: injected\nid: 1retry: 1\ndata: x\n\n");
  EXPECT_EQ(sse_comment("ping\n\ndata: x"), ": pingdata: x\n\n");
}

}  // namespace
}  // namespace pvekit::http
