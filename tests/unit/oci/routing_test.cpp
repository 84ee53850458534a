#include "oci/routing.h"

#include <gtest/gtest.h>

namespace pvekit::oci {
namespace {

using core::Json;

std::vector<RouteRule> rules(const std::string& text) {
  auto parsed = parse_route_rules(Json::parse(text));
  EXPECT_TRUE(parsed.ok()) << parsed.error().to_string();
  return parsed.ok() ? *parsed : std::vector<RouteRule>{};
}

std::string backend_for(const std::vector<RouteRule>& r, const RouteInput& in) {
  auto d = route_container(r, "linux", in);
  EXPECT_TRUE(d.ok());
  return d.ok() ? d->backend + " (" + d->reason + ")" : "";
}

TEST(Routing, DefaultWhenNothingMatches) {
  EXPECT_EQ(backend_for({}, {.id = "web"}), "linux (default)");
  auto d = route_container({}, "proxmox", {.id = "web"});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->backend, "proxmox");
}

TEST(Routing, IdRegexAnnotationsAndBundle) {
  auto r = rules(R"({
    "a-pve-ids": {"backend": "proxmox", "id": "^pve-"},
    "b-tier":    {"backend": "proxmox", "annotations": {"tier": "^(db|cache)$"}},
    "c-bundles": {"backend": "proxmox", "bundle": "^/srv/pve/"}
  })");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(backend_for(r, {.id = "pve-web"}), "proxmox (rule a-pve-ids)");
  EXPECT_EQ(backend_for(r, {.id = "web"}), "linux (default)");
  EXPECT_EQ(backend_for(r, {.id = "x", .annotations = {{"tier", "db"}}}), "proxmox (rule b-tier)");
  EXPECT_EQ(backend_for(r, {.id = "x", .annotations = {{"tier", "dbx"}}}), "linux (default)");
  EXPECT_EQ(backend_for(r, {.id = "x", .bundle = "/srv/pve/app"}), "proxmox (rule c-bundles)");
}

TEST(Routing, AllMatchersOfARuleMustMatchAndFirstRuleWins) {
  auto r = rules(R"({
    "1": {"backend": "linux", "id": "^keep-", "annotations": {"tier": "db"}},
    "2": {"backend": "proxmox", "id": "^keep-"}
  })");
  EXPECT_EQ(backend_for(r, {.id = "keep-1", .annotations = {{"tier", "db"}}}), "linux (rule 1)");
  EXPECT_EQ(backend_for(r, {.id = "keep-1"}), "proxmox (rule 2)");
}

TEST(Routing, AnnotationBeatsRules) {
  auto r = rules(R"({"all": {"backend": "proxmox", "id": "."}})");
  EXPECT_EQ(backend_for(r, {.id = "x", .annotations = {{"org.pvekit.backend", "linux"}}}),
            "linux (annotation org.pvekit.backend)");
  auto bad = route_container(r, "linux", {.id = "x", .annotations = {{"org.pvekit.backend", "kvm"}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("unknown backend \"kvm\""), std::string::npos);
}

TEST(Routing, BadRulesNameTheField) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {R"({"r": {"id": "x"}})", "routing.rules.r.backend': is required"},
      {R"({"r": {"backend": "kvm", "id": "x"}})", "unknown backend \"kvm\""},
      {R"({"r": {"backend": "linux"}})", "needs at least one of id, annotations, bundle"},
      {R"({"r": {"backend": "linux", "id": "("}})", "routing.rules.r.id': invalid regular expression"},
      {R"({"r": {"backend": "linux", "labels": {}}})", "routing.rules.r.labels': unknown field"},
      {R"({"r": {"backend": "linux", "annotations": {"a": 1}}})", "routing.rules.r.annotations.a'"},
      {R"({"r": "proxmox"})", "routing.rules.r': expected a mapping"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_route_rules(Json::parse(c.json));
    ASSERT_FALSE(parsed.ok()) << c.json;
    EXPECT_NE(parsed.error().message().find(c.message), std::string::npos) << parsed.error().message();
    EXPECT_EQ(parsed.error().category(), core::ErrorCategory::Config);
  }
}

}  // namespace
}  // namespace pvekit::oci
