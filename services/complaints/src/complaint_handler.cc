#include "services/complaints/src/complaint_handler.h"

#include "common/server/forwarding_rpc.h"

namespace crm::complaints {

#define CRM_DEFINE(Rpc, Request, Response) CRM_FORWARDING_RPC(ComplaintHandler, Rpc, Request, Response)
CRM_COMPLAINT_RPCS(CRM_DEFINE)
#undef CRM_DEFINE

}  // namespace crm::complaints
