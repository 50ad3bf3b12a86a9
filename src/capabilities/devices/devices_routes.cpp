// The devices capability's REST resources (docs/devices.md): GET /api/v1/devices lists the device
// registry of the caller's tenant, DELETE /api/v1/devices/{id} removes one device from it until the
// PBX reports it again. Admins only; both on the io thread, where the registries live.
#include "capabilities/devices/devices_routes.hpp"

#include "api/rest_common.hpp"
#include "capabilities/devices/devices_service.hpp"

namespace callbridge::capabilities::devices {

namespace json = boost::json;
using namespace api;
using namespace api::rest;

void register_devices(CapabilityContext& c) {
  const std::shared_ptr<Ctx>& ctx = c.rest;
  c.server.route("GET", "/api/v1/devices", admin_only(ctx, [ctx](const HttpRequest& req, const Principal& p) {
    if (!req.query.empty()) return problem(400, "bad-request", "no parameters expected");
    DeviceList list;
    if (ctx->deps.for_each_device_registry)
      ctx->deps.for_each_device_registry(p.tenant, [&](const model::DeviceRegistry& r) { list.add(r); });
    return HttpResponse::json(200, list.json());
  }));

  c.server.route("DELETE", "/api/v1/devices/*", admin_only(ctx, [ctx](const HttpRequest& req, const Principal& p) {
    std::string rest;
    const std::string id = path_segment(req, "/api/v1/devices/", &rest);
    HttpResponse answer;
    if (!rest.empty() || id.empty()) {
      answer = problem(404, "not-found", "no such resource");
    } else if (id.size() > 300) {
      answer = problem(400, "bad-request", "device id longer than 300 characters");
    } else if (!ctx->deps.forget_device || !ctx->deps.forget_device(p.tenant, id)) {
      // Another tenant's device is answered like one that does not exist.
      answer = problem(404, "not-found", "no device '" + id + "' in this tenant's registry");
    } else {
      answer.status = 204;
    }
    audit(*ctx, p, req, "device.delete", "device:" + id.substr(0, 80), answer);
    return answer;
  }));
}

}  // namespace callbridge::capabilities::devices
