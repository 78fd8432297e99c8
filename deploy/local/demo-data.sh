#!/usr/bin/env bash
# Loads a small demo data set into a running customers service through its
# public API (crmctl): 8 enterprises owned by mgr-li and mgr-wang (team east),
# 2 individuals, their contacts, then a tier recompute. Every create carries a
# fixed request id (AIP-155), so running it again returns the existing
# records instead of duplicating them. run.sh calls it once.
#
# Environment: CRM_CUSTOMERS_ADDRESS (127.0.0.1:50051),
#              CRM_JWT_HS256_KEY_FILE (.local/secrets/jwt-hs256.key).
set -euo pipefail

cd "$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")/../.."
readonly CRMCTL=build/services/crmctl/crmctl
readonly ADDRESS=${CRM_CUSTOMERS_ADDRESS:-127.0.0.1:${CRM_CUSTOMERS_PORT:-50051}}
readonly KEY_FILE=${CRM_JWT_HS256_KEY_FILE:-.local/secrets/jwt-hs256.key}

die() { echo "demo-data.sh: $*" >&2; exit 1; }

[[ -x $CRMCTL ]] || die "missing $CRMCTL: build first (deploy/local/build.sh)"
[[ -r $KEY_FILE ]] || die "missing $KEY_FILE: run deploy/local/run.sh first"

token() {
  "$CRMCTL" token --key-file "$KEY_FILE" --issuer crm-local --audience crm \
    --subject "$1" --role "$2" --team "$3"
}
# Each call gets its token through CRM_TOKEN (crmctl's default for --token),
# not on the command line, where ps would show it.
LI=$(token mgr-li MANAGER east)
WANG=$(token mgr-wang MANAGER east)
ADMIN=$(token crm-admin ADMIN east)
readonly LI WANG ADMIN

# Request ids are fixed UUIDs: "c" rows are customers, "d" rows contacts.
request_id() { printf 'de000000-0000-4000-8000-%012x' "$1"; }

# Prints "customers/{id}" of the created (or, on a re-run, the existing)
# customer. Args: token, request number, Customer JSON.
customer() {
  local out name
  out=$(CRM_TOKEN=$1 "$CRMCTL" --address "$ADDRESS" customers create \
          --json "$3" --request-id "$(request_id $((0xc000 + $2)))") \
    || die "customers create #$2 failed"
  # The Customer's only "name" field is its resource name.
  name=$(sed -nE 's#.*"?name"?: *"(customers/[^"/]+)".*#\1#p' <<<"$out" | sed -n 1p)
  [[ -n $name ]] || die "no customers/{id} in the output of customers create #$2: $out"
  echo "$name"
}

# Args: token, parent, request number, Contact JSON.
contact() {
  CRM_TOKEN=$1 "$CRMCTL" --address "$ADDRESS" contacts create --parent "$2" \
      --json "$4" --request-id "$(request_id $((0xd000 + $3)))" >/dev/null \
    || die "contacts create #$3 under $2 failed"
}

# Credit codes carry valid GB 32100 check digits (and GB 11714 check digits
# in the organisation-code part, positions 9-17); 91350100M000100Y43 is a
# known-valid reference code.
enterprise() {  # owner token, n, name, code, industry, address, lat, lng, revenue, staff, rating, owner
  customer "$1" "$2" "$(printf '{"kind":"ENTERPRISE","displayName":"%s","creditCode":"%s","industry":"%s","address":"%s","location":{"latitude":%s,"longitude":%s},"annualRevenue":{"currencyCode":"CNY","units":"%s"},"employeeCount":"%s","qualificationRating":"%s","status":"ACTIVE","owner":"%s"}' \
    "$3" "$4" "$5" "$6" "$7" "$8" "$9" "${10}" "${11}" "${12}")"
}

c=$(enterprise "$LI" 1 "上海浦江智能制造有限公司" 91310115MA1FL00154 "制造业" \
      "上海市浦东新区张江路88号" 31.2040 121.5900 860000000 1200 AAA mgr-li)
contact "$LI" "$c" 1 '{"displayName":"张伟","role":"KEY_PERSON","title":"总经理","phone":"13800138000"}'
contact "$LI" "$c" 2 '{"displayName":"李娜","role":"CONTACT","title":"采购经理","phone":"13800138001"}'

c=$(enterprise "$LI" 2 "杭州西湖云计算科技有限公司" 91330106MA27W00285 "信息技术" \
      "浙江省杭州市西湖区文三路199号" 30.2780 120.1260 320000000 450 AA mgr-li)
contact "$LI" "$c" 3 '{"displayName":"王磊","role":"KEY_PERSON","title":"首席技术官","phone":"13800138002"}'
contact "$LI" "$c" 4 '{"displayName":"赵敏","role":"VIP","vipLevel":"GOLD","title":"董事长","phone":"13800138003"}'

c=$(enterprise "$LI" 3 "苏州工业园区精密电子有限公司" 91320500MA1MX00336 "电子元器件" \
      "江苏省苏州市工业园区星湖街328号" 31.3160 120.7230 540000000 2300 A mgr-li)
contact "$LI" "$c" 5 '{"displayName":"刘洋","role":"CONTACT","title":"行政主管","phone":"13800138004"}'

c=$(enterprise "$LI" 4 "南京紫金物流股份有限公司" 91320100MA1N00042H "交通运输" \
      "江苏省南京市玄武区中山路18号" 32.0580 118.7960 150000000 680 BBB mgr-li)
contact "$LI" "$c" 6 '{"displayName":"陈静","role":"KEY_PERSON","title":"运营总监","phone":"13800138005"}'

c=$(enterprise "$WANG" 5 "宁波港城贸易有限公司" 91330200MA2H00057L "批发零售" \
      "浙江省宁波市鄞州区天童南路588号" 29.8200 121.5500 95000000 120 BB mgr-wang)
contact "$WANG" "$c" 7 '{"displayName":"杨帆","role":"KEY_PERSON","title":"总经理","phone":"13800138006"}'
contact "$WANG" "$c" 8 '{"displayName":"黄丽","role":"CONTACT","title":"财务经理","phone":"13800138007"}'

c=$(enterprise "$WANG" 6 "福州闽江食品有限公司" 91350100M000100Y43 "食品制造" \
      "福建省福州市鼓楼区五四路128号" 26.0800 119.3000 210000000 560 A mgr-wang)
contact "$WANG" "$c" 9 '{"displayName":"林峰","role":"VIP","vipLevel":"GOLD","title":"董事长","phone":"13800138008"}'

c=$(enterprise "$WANG" 7 "合肥科联信息技术有限公司" 91340100MA2N00060U "软件和信息服务" \
      "安徽省合肥市高新区望江西路800号" 31.8400 117.1300 68000000 210 BBB mgr-wang)
contact "$WANG" "$c" 10 '{"displayName":"周杰","role":"CONTACT","title":"信息中心主任","phone":"13800138009"}'

c=$(enterprise "$WANG" 8 "无锡太湖新能源有限公司" 91320200MA1Q0007XJ "新能源" \
      "江苏省无锡市滨湖区太湖大道1号" 31.5200 120.2800 400000000 900 AA mgr-wang)
contact "$WANG" "$c" 11 '{"displayName":"吴刚","role":"KEY_PERSON","title":"副总经理","phone":"13800138010"}'
contact "$WANG" "$c" 12 '{"displayName":"郑爽","role":"CONTACT","title":"综合部经理","phone":"13800138011"}'

c=$(customer "$LI" 9 '{"kind":"INDIVIDUAL","displayName":"王芳","address":"上海市徐汇区漕溪北路398号","phone":"13800138012","status":"ACTIVE","owner":"mgr-li"}')
contact "$LI" "$c" 13 '{"displayName":"李强","role":"CONTACT","familyNotes":"王芳的丈夫","phone":"13800138014"}'

c=$(customer "$WANG" 10 '{"kind":"INDIVIDUAL","displayName":"陈明","address":"浙江省杭州市上城区解放路55号","phone":"13800138013","status":"ACTIVE","owner":"mgr-wang"}')
contact "$WANG" "$c" 14 '{"displayName":"陈晓燕","role":"CONTACT","familyNotes":"陈明的女儿","phone":"13800138015"}'

CRM_TOKEN=$ADMIN "$CRMCTL" --address "$ADDRESS" tiers recompute >/dev/null \
  || die "tiers recompute failed"
echo "demo-data.sh: 10 customers, 14 contacts loaded; tiers recomputed"
