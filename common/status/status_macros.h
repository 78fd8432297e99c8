#pragma once
// RETURN_IF_ERROR / ASSIGN_OR_RETURN: Debian's Abseil 20220623 ships none.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define CRM_STATUS_CONCAT_INNER(a, b) a##b
#define CRM_STATUS_CONCAT(a, b) CRM_STATUS_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                                  \
  do {                                                         \
    if (::absl::Status crm_status_ = (expr); !crm_status_.ok()) \
      return crm_status_;                                      \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  CRM_ASSIGN_OR_RETURN_IMPL(CRM_STATUS_CONCAT(crm_statusor_, __LINE__), lhs, expr)

#define CRM_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
