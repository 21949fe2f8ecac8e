// What every route file uses to answer: the one place an ApiError becomes a response, JSON bodies,
// and the Authorization header.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "base/errors.h"

namespace recorder::server {

void WriteError(const httplib::Request& req, httplib::Response& res, const ApiError& error);
void WriteError(const httplib::Request& req, httplib::Response& res, Err err);
// A JSON body, never cached (it carries personal data).
void WriteJson(httplib::Response& res, const nlohmann::json& body, int status = 200);
// "Bearer <secret>" -> secret; empty when absent or another scheme.
std::string BearerToken(const httplib::Request& req);
// A JSON object from the body; kInvalidJson otherwise.
Expected<nlohmann::json> ParseJsonObject(const std::string& body);

}  // namespace recorder::server
